// Bulk import on embedded PGlite (part of `npm test`); test/pg/import.test.ts runs the same on PostgreSQL.
import { dbTestFor } from '../support/db.ts';
import { importSuites } from '../support/suites/import.ts';

importSuites(dbTestFor('pglite'));
