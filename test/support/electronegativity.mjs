// `npm run lint:electron`: Electronegativity over the code that runs in Electron, as a gate.
//
// Electronegativity 1.10.3 exits 0 even when it finds problems, so this script runs it through its own API,
// writes SARIF 2.1.0 to test-results/electronegativity.sarif, and fails (exit 1) when any result has level "warning"
// or "error", listing each one (rule, file, line). "note" results are its "review required" hints — e.g. every
// `shell.openExternal` call with a non-literal argument — which it raises whatever the code does around them;
// they are counted, not failed on.
//
// What it reads: the TypeScript sources themselves (it parses .ts/.tsx with Babel's TypeScript plugin, falling
// back to typescript-estree), not the esbuild output — the bundle would report findings at bundle lines.
// Default inputs: main/ (the shell, and everything it bundles), renderer/src and renderer/index.html (the page
// and its <meta> CSP, which is how its CSP check finds one) and package.json (the Electron version). They are
// copied into one temporary folder because its global checks (CSP, navigation limits, permission handler)
// must see all the code at once. A file it cannot parse fails the gate too: unread code is unchecked code.
//
// It works offline: at start it tries to fetch translations and Electron's release list, prints "Could not
// retrieve…" / "No connectivity?" when it cannot, and carries on.
//
// Usage: node test/support/electronegativity.mjs [--sarif FILE] [path …]   (paths replace the default inputs)
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const run = require('@doyensec/electronegativity');

const DEFAULT_INPUTS = ['main', 'renderer/src', 'renderer/index.html', 'package.json'];
const SOURCE = /\.(ts|tsx|js|jsx|html|htm|json)$/;
const { values, positionals } = parseArgs({
  options: { sarif: { type: 'string', default: 'test-results/electronegativity.sarif' } },
  allowPositionals: true,
});
const SARIF = values.sarif;
const inputs = positionals.length > 0 ? positionals : DEFAULT_INPUTS;
const stage = mkdtempSync(path.join(os.tmpdir(), 'relink-electronegativity-'));
try {
  for (const input of inputs) {
    if (!existsSync(input)) {
      console.error(`lint:electron: ${input} does not exist.`);
      process.exit(1);
    }
    // Keep repository-relative paths, so the report names files as they are in the repository.
    const relative = path.relative(process.cwd(), path.resolve(input));
    const target = path.join(stage, relative.startsWith('..') || path.isAbsolute(relative) ? path.join('outside', path.basename(input)) : relative);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(input, target, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}node_modules`) && (!path.extname(src) || SOURCE.test(src)),
    });
  }

  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  const electronVersion = String(pkg.devDependencies?.electron ?? pkg.dependencies?.electron ?? '').replace(/^[^\d]*/, '');

  const result = await run({
    input: stage,
    // No `output`: its writer is fire-and-forget (fs.writeFile without waiting); the SARIF is written below.
    customScan: [],
    excludeFromScan: [],
    isRelative: true,
    isVerbose: false,
    electronVersionOverride: electronVersion || undefined,
    parserPlugins: [],
  });

  // SARIF 2.1.0 as Electronegativity writes it: level "note" for review-required hints, "warning" otherwise.
  const results = result.issues.map((issue) => ({
    ruleId: issue.id,
    level: issue.manualReview ? 'note' : 'warning',
    message: { text: issue.description },
    properties: { severity: issue.severity?.name, confidence: issue.confidence?.name },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: issue.file === 'N/A' ? 'N/A' : issue.file.split(path.sep).join('/') },
          region: { startLine: Math.max(1, issue.location?.line ?? 1), startColumn: (issue.location?.column ?? 0) + 1 },
        },
      },
    ],
  }));
  const rules = [...new Set(results.map((r) => r.ruleId))].map((id) => ({
    id,
    helpUri: `https://github.com/doyensec/electronegativity/wiki/${id}`,
  }));
  mkdirSync(path.dirname(SARIF), { recursive: true });
  writeFileSync(
    SARIF,
    JSON.stringify(
      {
        $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
        version: '2.1.0',
        runs: [{ tool: { driver: { name: 'Electronegativity', version: '1.10.3', informationUri: 'https://github.com/doyensec/electronegativity', rules } }, results }],
      },
      null,
      2,
    ),
  );

  const failing = results.filter((r) => r.level === 'warning' || r.level === 'error');
  const notes = results.length - failing.length;
  const unparsed = (result.errors ?? []).filter((e) => !e.tolerable);

  const where = (r) => {
    const loc = r.locations?.[0]?.physicalLocation;
    const uri = loc?.artifactLocation?.uri ?? '';
    // Global checks (no CSP anywhere, no navigation limits anywhere) belong to no file.
    return `${uri === 'N/A' ? '(whole app)' : uri}:${loc?.region?.startLine ?? 1}`;
  };

  for (const r of failing) console.error(`lint:electron: ${r.level} ${r.ruleId} at ${where(r)}: ${r.message?.text ?? ''}`);
  for (const e of unparsed) console.error(`lint:electron: could not read ${path.relative(stage, e.file)}: ${e.message}`);
  const checks = `${result.globalChecks + result.atomicChecks} checks`;
  if (failing.length > 0 || unparsed.length > 0) {
    console.error(
      `lint:electron: FAILED — ${failing.length} finding(s) to fix, ${unparsed.length} file(s) unread (${checks}; SARIF in ${SARIF}).`,
    );
    process.exitCode = 1;
  } else {
    console.log(`lint:electron: no findings to fix; ${notes} review note(s) (${checks}; SARIF in ${SARIF}).`);
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}
