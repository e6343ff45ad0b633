// Account transfer and subsidy scenarios on the machine's PostgreSQL (vitest.services.config.ts).
import { dbTestFor } from '../support/db.ts';
import { accountSuites } from '../support/suites/accounts.ts';

accountSuites(dbTestFor('postgres'));
