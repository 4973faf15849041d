// Prints one closing line for the whole suite — "tests: N passed, N failed, N skipped" — from the JSON reports
// Vitest and Playwright write, so a reader of the CI log (person or tool) sees the total at the end.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];

const vitest = 'test-results/vitest.json';
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
} else missing.push(vitest);

const e2e = 'test-results/playwright.json';
if (existsSync(e2e)) {
  const { stats } = JSON.parse(readFileSync(e2e, 'utf8'));
  passed += stats.expected + stats.flaky;
  failed += stats.unexpected;
  skipped += stats.skipped;
} else missing.push(e2e);

if (missing.length > 0) {
  console.error(`summary: no report at ${missing.join(', ')}: did a test runner not start?`);
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
