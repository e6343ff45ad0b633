// Field campaigns on the machine's PostgreSQL (vitest.services.config.ts).
import { dbTestFor } from '../support/db.ts';
import { fieldSuites } from '../support/suites/field.ts';

fieldSuites(dbTestFor('postgres'));
