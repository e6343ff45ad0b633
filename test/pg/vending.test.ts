// Vending scenarios on the machine's PostgreSQL (vitest.services.config.ts).
import { dbTestFor } from '../support/db.ts';
import { paymentSuites } from '../support/suites/payments.ts';
import { managementSuites, vendingSuites } from '../support/suites/vending.ts';

const dbTest = dbTestFor('postgres');
vendingSuites(dbTest);
managementSuites(dbTest);
paymentSuites(dbTest);
