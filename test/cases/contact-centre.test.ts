// The contact centre from an empty install on SUITE_DIALECT (PGlite in `npm test`); test/pg/contact-centre.test.ts
// runs the same suite on PostgreSQL.
import { SUITE_DIALECT } from '../support/db.ts';
import { contactCentreSuites } from '../support/suites/contact-centre.ts';

contactCentreSuites(SUITE_DIALECT);
