// Vending scenarios on the machine's PostgreSQL (vitest.services.config.ts).
import { dbTestFor } from '../support/db.ts';
import { vendingSuites } from '../support/suites/vending.ts';

vendingSuites(dbTestFor('postgres'));
