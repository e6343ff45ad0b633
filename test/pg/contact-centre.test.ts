// The contact centre from an empty install on PostgreSQL (vitest.services.config.ts);
// test/cases/contact-centre.test.ts runs the same suite on PGlite.
import { contactCentreSuites } from '../support/suites/contact-centre.ts';

contactCentreSuites('postgres');
