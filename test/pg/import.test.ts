// Bulk import on PostgreSQL (vitest.services.config.ts); test/import/import.test.ts runs the same on PGlite.
import { dbTestFor } from '../support/db.ts';
import { importSuites } from '../support/suites/import.ts';

importSuites(dbTestFor('postgres'));
