import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { redactRegisteredSecrets } from '../../../main/core/redact.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { KeychainVault, grantAccount } from '../../../main/secrets/vault.js';
import { createHarness, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * The redactor scrubs secrets by value (core/redact.ts), so every token and secret the product handles must be
 * registered with it where it is read, written or received: by the sign-in (code, verifier, first tokens), the
 * refresher (every rotated token), and the vault (whatever it reads from or writes to the keychain). Checked
 * with `redactRegisteredSecrets`, which knows nothing of shapes: what it removes it was told about.
 */

const hidden = (value: string) => redactRegisteredSecrets(`<${value}>`) === '<[REDACTED]>';

/** Every credential that crossed the wire: Basic/Bearer credentials, form secrets and token answers. */
function spyingFetch() {
  const seen = new Map<string, string>();
  const kinds: string[] = [];
  const add = (what: string, v: unknown) => {
    if (typeof v !== 'string' || v.length < 8) return;
    kinds.push(what);
    if (!seen.has(v)) seen.set(v, what);
  };
  const f: typeof fetch = async (input, init) => {
    const auth = new Headers(init?.headers).get('authorization');
    // client_secret_basic form-encodes id and secret before base64 (RFC 6749 §2.3.1).
    if (auth?.toLowerCase().startsWith('basic ')) add('client secret', decodeURIComponent(Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[1] ?? ''));
    if (auth?.toLowerCase().startsWith('bearer ')) add('access token (sent)', auth.slice(7));
    const body = init?.body;
    if (typeof body === 'string' || body instanceof URLSearchParams) {
      const form = new URLSearchParams(body.toString());
      for (const k of ['code', 'code_verifier', 'refresh_token']) add(k, form.get(k));
    }
    const res = await fetch(input, init);
    try {
      const j = (await res.clone().json()) as Record<string, unknown>;
      for (const k of ['access_token', 'refresh_token', 'id_token']) add(k, j[k]);
    } catch {
      // not JSON
    }
    return res;
  };
  return { fetch: f, seen, kinds };
}

describe('every token and secret the product handles is registered with the redactor', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  it('connect and refresh (web app): the secret, the code, the verifier, every access, refresh and id token', async () => {
    const spy = spyingFetch();
    h = createHarness(sb, { fetch: spy.fetch, keychain: new MemoryKeychain() });
    const firm = await sandboxFirm(sb, 2);
    const app = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const added = await h.addApp(service, app);
    await h.connect(service, added, firm.userId, firm.tenantIds);
    await service.check();
    await service.check();

    const kinds = new Set(spy.kinds);
    for (const k of ['client secret', 'code', 'code_verifier', 'access_token', 'refresh_token', 'id_token']) expect(kinds, k).toContain(k);
    // Three refresh tokens (the consent's, then one per check), each rotated by the refresher.
    expect(spy.kinds.filter((k) => k === 'refresh_token').length).toBeGreaterThanOrEqual(3);
    // `relink-check-…` is the made-up refresh token Relink sends to test an app's credentials: not a secret.
    const missing = [...spy.seen].filter(([value]) => !value.startsWith('relink-check-') && !hidden(value)).map(([value, what]) => `${what}:${value}`);
    expect(missing).toEqual([]);
  });

  it('the vault registers what it reads, even a token another process wrote', async () => {
    const keychain = new MemoryKeychain();
    const vault = new KeychainVault(keychain, 'Relink-redact-test', new SystemClock());
    const rt = 'written-by-another-process-7Hq2Lw9Zx4';
    const prev = 'its-predecessor-in-the-grace-window-3Fk8';
    await keychain.set('Relink-redact-test', grantAccount('g-other'), JSON.stringify({ v: 1, rt, prev, prevSavedAt: new Date().toISOString() }));
    expect(hidden(rt)).toBe(false);
    await vault.readGrant('g-other');
    expect(hidden(rt)).toBe(true);
    expect(hidden(prev)).toBe(true);

    await keychain.set('Relink-redact-test', 'app-secret:some-app', 'a-client-secret-from-the-keychain-9Xv');
    await vault.readClientSecret('some-app');
    expect(hidden('a-client-secret-from-the-keychain-9Xv')).toBe(true);
  });
});
