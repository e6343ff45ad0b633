// Vending scenarios on embedded PGlite (part of `npm test`); test/pg runs the same on PostgreSQL.
import { dbTestFor } from '../support/db.ts';
import { paymentSuites } from '../support/suites/payments.ts';
import { managementSuites, vendingSuites } from '../support/suites/vending.ts';

const dbTest = dbTestFor('pglite');
vendingSuites(dbTest);
managementSuites(dbTest);
paymentSuites(dbTest);
