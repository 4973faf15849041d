import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run lint:electron` (test/support/electronegativity.mjs) is only worth having if it can fail.
 * Electronegativity itself exits 0 whatever it finds, so this runs the gate on a deliberately bad window —
 * written to a temporary folder here, never committed — next to Relink's real shell, and expects exit 1 with
 * each finding named. (The gate over the real code runs in `npm test` before the unit tests.)
 */
const run = promisify(execFile);
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-bad-window-'));
  fs.writeFileSync(
    path.join(dir, 'bad-window.ts'),
    [
      "import { BrowserWindow } from 'electron';",
      'export function open(): BrowserWindow {',
      '  return new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false } });',
      '}',
      '',
    ].join('\n'),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the Electronegativity gate', () => {
  it('fails on a window with context isolation off and no sandbox, naming rule, file and line', async () => {
    const sarif = path.join(dir, 'out.sarif');
    const outcome = await run(process.execPath, ['test/support/electronegativity.mjs', '--sarif', sarif, 'main/electron', path.join(dir, 'bad-window.ts')], {
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code ?? -1, stderr: err.stderr ?? '' }),
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/warning CONTEXT_ISOLATION_JS_CHECK at outside\/bad-window\.ts:3/);
    expect(outcome.stderr).toMatch(/warning SANDBOX_JS_CHECK at outside\/bad-window\.ts:3/);
    // Relink's own window, scanned in the same run, adds nothing to fix.
    expect(outcome.stderr).not.toMatch(/at main\/electron\//);
    const report = JSON.parse(fs.readFileSync(sarif, 'utf8'));
    expect(report.version).toBe('2.1.0');
    const warnings = report.runs[0].results.filter((r: { level: string }) => r.level === 'warning');
    expect(warnings.map((r: { ruleId: string }) => r.ruleId)).toContain('CONTEXT_ISOLATION_JS_CHECK');
  }, 90_000);
});
