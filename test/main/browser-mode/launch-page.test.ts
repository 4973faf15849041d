import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { writeLaunchPage } from '../../../main/browser-mode/launch-page.js';
import { BrowserOpenError, openLocalPageInBrowser } from '../../../main/oauth/browser.js';

/**
 * Browser mode opens its window through an owner-only launch page, so the per-run key never appears on a
 * command line (where `ps` shows it to every user of the computer).
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-launch-'));
  dirs.push(d);
  return d;
};

const APP_URL = 'http://127.0.0.1:4417/#key=k3y-Of-This-Run_0123456789abcdef';

describe('browser mode launch page', () => {
  it('is readable by its owner only, sends the browser to the address, and is removed on stop', () => {
    const dir = tmp();
    const page = writeLaunchPage(dir, APP_URL);
    const file = fileURLToPath(page.url);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=${APP_URL}">`);
    expect(page.url).not.toContain('key');
    page.remove();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('replaces the page of an earlier run and points only at 127.0.0.1', () => {
    const dir = tmp();
    writeLaunchPage(dir, 'http://127.0.0.1:1111/#key=old');
    const page = writeLaunchPage(dir, APP_URL);
    expect(fs.readFileSync(fileURLToPath(page.url), 'utf8')).not.toContain('key=old');
    expect(() => writeLaunchPage(dir, 'http://evil.example/#key=x')).toThrow(/127\.0\.0\.1/);
    expect(() => writeLaunchPage(dir, 'javascript:alert(1)')).toThrow();
  });

  it('hands the browser program the file URL, never the key', async () => {
    const dir = tmp();
    const page = writeLaunchPage(dir, APP_URL);
    const record = path.join(dir, 'argv.json');
    const recorder = path.join(dir, 'recorder.mjs');
    fs.writeFileSync(recorder, `import fs from 'node:fs'; fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.argv.slice(2)));`);
    await openLocalPageInBrowser(page.url, { kind: 'command', command: `"${process.execPath}" "${recorder}"` }, { settleMs: 2_000 });
    for (let i = 0; i < 100 && !fs.existsSync(record); i++) await new Promise((r) => setTimeout(r, 20));
    const argv = JSON.parse(fs.readFileSync(record, 'utf8')) as string[];
    expect(argv).toEqual([page.url]);
    expect(argv.join(' ')).not.toContain('k3y-Of-This-Run');
  });

  it('opens only an existing local file', async () => {
    const how = { kind: 'none' as const, print: () => undefined };
    await expect(openLocalPageInBrowser('http://127.0.0.1:4417/#key=x', how)).rejects.toBeInstanceOf(BrowserOpenError);
    await expect(openLocalPageInBrowser('file:///nonexistent/relink.html', how)).rejects.toBeInstanceOf(BrowserOpenError);
  });
});
