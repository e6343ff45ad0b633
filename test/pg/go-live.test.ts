// The go-live scenario on PostgreSQL (vitest.services.config.ts); test/scenario/go-live.test.ts runs it on PGlite.
import { goLiveScenario } from '../support/suites/go-live.ts';

goLiveScenario('postgres');
