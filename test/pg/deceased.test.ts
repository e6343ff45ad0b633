// Deceased holders on PostgreSQL (vitest.services.config.ts); test/scenario/deceased.test.ts runs it on PGlite.
import { deceasedScenario } from '../support/suites/deceased.ts';

deceasedScenario('postgres');
