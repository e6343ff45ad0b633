// Account transfer and subsidy scenarios on embedded PGlite (part of `npm test`); test/pg runs the same on PostgreSQL.
import { dbTestFor } from '../support/db.ts';
import { accountSuites } from '../support/suites/accounts.ts';

accountSuites(dbTestFor('pglite'));
