// The store suites on the machine's PostgreSQL (DATABASE_URL, default 127.0.0.1:5432): `vitest.services.config.ts`.
import { dbTestFor } from '../support/db.ts';
import { storeSuites } from '../support/suites/store.ts';

storeSuites(dbTestFor('postgres'));
