// Field campaigns on embedded PGlite (part of `npm test`); test/pg runs the same on PostgreSQL.
import { dbTestFor } from '../support/db.ts';
import { fieldSuites } from '../support/suites/field.ts';

fieldSuites(dbTestFor('pglite'));
