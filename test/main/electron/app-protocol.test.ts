import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SCHEME_PRIVILEGES, appRequestHandler, serveAppProtocol } from '../../../main/electron/app-protocol.js';
import { CONTENT_SECURITY_POLICY } from '../../../main/electron/policy.js';

let dir: string;
let outside: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-renderer-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Relink</title>');
  fs.writeFileSync(path.join(dir, 'assets', 'index.js'), 'console.log(1)');
  outside = path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`);
  fs.writeFileSync(outside, 'not for the window');
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(outside, { force: true });
});

describe('app://relink/', () => {
  it('serves the build with the CSP header and the right type', async () => {
    const handler = appRequestHandler(dir);
    const page = await handler(new Request('app://relink/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>Relink</title>');
    const script = await handler(new Request('app://relink/assets/index.js'));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers 404 for missing files, other hosts and anything outside the build', async () => {
    const handler = appRequestHandler(dir);
    const escape = `app://relink/..%2F${encodeURIComponent(path.basename(outside))}`;
    for (const url of ['app://relink/missing.js', 'app://other/index.html', escape, 'app://relink/assets']) {
      const res = await handler(new Request(url));
      expect(res.status, url).toBe(404);
    }
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    const res = await appRequestHandler(dir)(new Request('app://relink/index.html', { method: 'POST', body: 'x' }));
    expect(res.status).toBe(405);
  });

  it('registers under the privileged app scheme', () => {
    const registered: string[] = [];
    serveAppProtocol({ handle: (scheme) => registered.push(scheme) }, dir);
    expect(registered).toEqual([APP_SCHEME_PRIVILEGES.scheme]);
    expect(APP_SCHEME_PRIVILEGES.privileges).toMatchObject({ standard: true, secure: true });
  });
});
