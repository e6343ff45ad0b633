// Reads vitest JSON reports and prints one closing line: "tests: N passed, N failed[, N skipped]".
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let suitesFailed = 0;
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  suitesFailed += report.numFailedTestSuites ?? 0;
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numFailedTestSuites} failed files`,
  );
}
if (passed + failed === 0) {
  console.log('no test ran');
  process.exit(1);
}
console.log(
  `tests: ${passed} passed, ${failed + suitesFailed} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
process.exit(failed + suitesFailed > 0 ? 1 : 0);
