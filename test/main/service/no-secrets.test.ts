import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, filesUnder, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Secrets never leave memory and the keychain (DESIGN.md §3): after a whole scenario, no token, code, client
 * secret or Authorization header seen on the wire or stored in the keychain appears in status(), the
 * metadata file, its last-good copy, the activity log or the refresh journal.
 */

/** A fetch that records every credential that crossed it: bearer and basic credentials, and token answers. */
function spyingFetch() {
  const seen = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 8) seen.add(v);
  };
  const f: typeof fetch = async (input, init) => {
    const auth = new Headers(init?.headers).get('authorization');
    if (auth) {
      const [scheme, credential] = auth.split(/\s+/, 2);
      add(credential);
      if (scheme?.toLowerCase() === 'basic' && credential) {
        const [, secret] = Buffer.from(credential, 'base64').toString('utf8').split(':', 2);
        add(secret);
      }
    }
    const body = init?.body;
    if (typeof body === 'string' || body instanceof URLSearchParams) {
      const form = new URLSearchParams(body.toString());
      for (const k of ['code', 'code_verifier', 'refresh_token', 'client_secret']) add(form.get(k));
    }
    const res = await fetch(input, init);
    const text = await res.clone().text();
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === 'object') {
        const j = json as Record<string, unknown>;
        for (const k of ['access_token', 'refresh_token', 'id_token']) add(j[k]);
      }
    } catch {
      // not JSON: nothing to collect
    }
    return res;
  };
  return { fetch: f, seen };
}

const FORBIDDEN_WORDS = [/bearer /i, /authorization/i, /refresh_token/i, /code=/i];

describe('service: no token, code, secret or Authorization header anywhere it writes or shows', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`after connect (PKCE + web), checks, a lost response, a password change and reconnects${NO_KEYCHAIN}`, async () => {
    const spy = spyingFetch();
    h = createHarness(sb, { fetch: spy.fetch, timeoutMs: 400 });
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: 1 });
    const firm = await sandboxFirm(sb, 2);
    const pkceApp = await sandboxApp(sb, { type: 'pkce' });
    const webApp = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const pkce = await h.addApp(service, pkceApp);
    const web = await h.addApp(service, webApp);

    const snapshots: string[] = [];
    const secrets = new Set<string>([webApp.clientSecret!]);
    const harvest = async () => {
      snapshots.push(JSON.stringify(service.status()));
      for (const g of Object.keys(service.store.peek().grants)) {
        const stored = await service.vault.readGrant(g);
        if (stored) for (const v of [stored.refreshToken, stored.previous]) if (v) secrets.add(v);
      }
      const secret = await service.vault.readClientSecret(web.id);
      if (secret) secrets.add(secret);
    };

    const reports = [await h.connect(service, pkce, firm.userId, firm.tenantIds), await h.connect(service, web, firm.userId, firm.tenantIds)];
    await harvest();
    await service.check();
    await harvest();
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response', count: 1 });
    await service.check();
    await harvest();
    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    await service.check();
    await harvest();
    expect(service.status().grants.every((g) => g.health === 'needs-reconnect')).toBe(true);
    reports.push(await h.connect(service, pkce, firm.userId, firm.tenantIds), await h.connect(service, web, firm.userId, firm.tenantIds));
    await service.check();
    await harvest();
    expect(service.status().grants.every((g) => g.health === 'healthy')).toBe(true);
    const memory = JSON.stringify(service.store.peek());
    await service.close();

    // What was collected is real: tokens from the wire, codes from the callback, the web app's secret.
    for (const v of [...spy.seen, ...h.codes]) secrets.add(v);
    expect(h.codes.length).toBe(4);
    expect(secrets.size).toBeGreaterThan(20);
    expect([...spy.seen].some((v) => v.startsWith('eyJ'))).toBe(true); // access and id tokens (JWTs)

    const files = filesUnder(h.dataDir);
    const names = files.map((f) => path.relative(h!.dataDir, f.path));
    expect(names).toEqual(expect.arrayContaining(['relink.json', 'relink.last-good.json', 'activity.jsonl']));
    expect(fs.existsSync(path.join(h.dataDir, 'refresh-journal'))).toBe(true);

    const places: Array<[string, string]> = [
      ...snapshots.map((s, i) => [`status() #${i + 1}`, s] as [string, string]),
      ['connect reports', JSON.stringify(reports)],
      ['metadata in memory', memory],
      ...files.map((f) => [names[files.indexOf(f)]!, f.text] as [string, string]),
    ];
    const leaks: string[] = [];
    for (const [where, text] of places) {
      for (const s of secrets) if (text.includes(s)) leaks.push(`${where}: a secret of ${s.length} chars`);
      for (const w of FORBIDDEN_WORDS) if (w.test(text)) leaks.push(`${where}: ${w}`);
    }
    expect(leaks).toEqual([]);
  });
});
