import { pgliteHarness } from './harness.ts';
import { ingestSuite } from './suite.ts';

ingestSuite('PGlite', pgliteHarness);
