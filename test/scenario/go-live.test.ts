// The go-live scenario on embedded PGlite (part of `npm test`); test/pg/go-live.test.ts runs it on PostgreSQL.
import { goLiveScenario } from '../support/suites/go-live.ts';

goLiveScenario('pglite');
