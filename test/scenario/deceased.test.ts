// Deceased holders on embedded PGlite (part of `npm test`); test/pg/deceased.test.ts runs it on PostgreSQL.
import { deceasedScenario } from '../support/suites/deceased.ts';

deceasedScenario('pglite');
