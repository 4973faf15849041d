// Prints one closing line for the whole suite — "tests: N passed, N failed, N skipped" — from the JSON reports
// Vitest and Playwright write, so a reader of the CI log (person or tool) sees the total at the end.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
/** Each skipped test with why, so a skip is never silent: "file › title — reason". */
const skippedList = [];

const vitest = 'test-results/vitest.json';
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  for (const file of r.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      // Vitest has no skip reason field: real-keychain tests carry theirs in the title ("… [SKIPPED: …]").
      if (t.status === 'pending' || t.status === 'skipped' || t.status === 'todo') skippedList.push(`${shortPath(file.name)} › ${t.fullName ?? t.title}`);
    }
  }
} else missing.push(vitest);

const e2e = 'test-results/playwright.json';
if (existsSync(e2e)) {
  const report = JSON.parse(readFileSync(e2e, 'utf8'));
  const { stats } = report;
  passed += stats.expected + stats.flaky;
  failed += stats.unexpected;
  skipped += stats.skipped;
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== 'skipped') continue;
        const why = [...(t.annotations ?? []), ...(t.results ?? []).flatMap((r) => r.annotations ?? [])].find((a) => a.type === 'skip')?.description;
        skippedList.push(`${spec.file} › ${spec.title}${why ? ` — ${why}` : ''}`);
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
} else missing.push(e2e);

function shortPath(file) {
  const at = file.indexOf('/test/');
  return at >= 0 ? file.slice(at + 1) : file;
}

if (missing.length > 0) {
  console.error(`summary: no report at ${missing.join(', ')}: did a test runner not start?`);
  process.exit(1);
}
for (const line of skippedList) console.log(`skipped: ${line}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
