// The store suites on embedded PGlite (part of `npm test`); test/pg runs the same suites on PostgreSQL.
import { dbTestFor } from '../support/db.ts';
import { storeSuites } from '../support/suites/store.ts';

storeSuites(dbTestFor('pglite'));
