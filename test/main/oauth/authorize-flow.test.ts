import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { describeAuthorizationProblem, runAuthorization, type AuthorizationRequest, type AuthorizationResult } from '../../../main/oauth/authorize-flow.js';
import { redactSecrets, redactUserData } from '../../../main/core/redact.js';
import { createProviderClient, DiscoveryCache, type ProviderClient } from '../../../main/oauth/provider-client.js';
import { api, buildWorld, type World } from '../../support/sandbox.js';
import { useSandbox } from '../../support/use-sandbox.js';
import { freePorts, navigate, occupy, sandboxBrowser } from './support.js';

const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'accounting.settings'];

describe('oauth: the whole authorization, from browser to tokens, against the sandbox', () => {
  const sb = useSandbox({ resetEachTest: true });

  /** A world whose app registers `ports` as loopback redirect URIs on `host`. */
  async function world(opts: { type?: 'pkce' | 'web'; orgs?: number; host?: '127.0.0.1' | 'localhost' } = {}) {
    const ports = await freePorts(2);
    const host = opts.host ?? '127.0.0.1';
    const w = await buildWorld(sb, {
      type: opts.type ?? 'pkce',
      orgs: opts.orgs ?? 3,
      app: { redirectUris: ports.map((p) => `http://${host}:${p}/callback`) },
    });
    return { w, ports };
  }

  function clientFor(w: World, extra: { fetch?: typeof fetch; secret?: string } = {}): ProviderClient {
    return createProviderClient({
      issuer: sb.origin,
      clientId: w.clientId,
      clientSecret: extra.secret ?? w.clientSecret ?? null,
      clock: new SystemClock(),
      allowInsecureLoopback: true,
      discoveryCache: new DiscoveryCache(),
      ...(extra.fetch ? { fetch: extra.fetch } : {}),
    });
  }

  const consent = (w: World, tenantIds: string[], decision?: 'deny') =>
    sb.control('POST', '/sandbox/consents', { clientId: w.clientId, userId: w.userId, tenantIds, ...(decision ? { decision } : {}) });

  function run(client: ProviderClient, ports: number[], extra: Partial<AuthorizationRequest> = {}): Promise<AuthorizationResult> {
    return runAuthorization({ client, ports, redirectHost: '127.0.0.1', scopes: SCOPES, open: sandboxBrowser().open, timeoutMs: 10_000, ...extra });
  }

  function countingFetch() {
    const calls: string[] = [];
    const f: typeof fetch = (input, init) => {
      calls.push(String(input));
      return fetch(input, init);
    };
    return { fetch: f, tokenCalls: () => calls.filter((u) => u.endsWith('/connect/token')).length };
  }

  for (const type of ['pkce', 'web'] as const) {
    it(`${type} app: connects the ticked organisations, and /connections?authEventId= lists exactly them`, async () => {
      const { w, ports } = await world({ type, orgs: 3 });
      const ticked = [w.tenantIds[0]!, w.tenantIds[2]!];
      await consent(w, ticked);
      const browser = sandboxBrowser();
      const r = await run(clientFor(w), ports, { open: browser.open });
      if (r.kind !== 'connected') throw new Error(`not connected: ${JSON.stringify(r)}`);

      expect(r.redirectUri).toBe(`http://127.0.0.1:${ports[0]}/callback`);
      expect(r.tokens.refreshToken).toBeTruthy();
      expect(r.tokens.scope.sort()).toEqual([...SCOPES].sort());
      expect(r.claims).toMatchObject({ xero_userid: w.userId, email: w.email, given_name: 'Ada', family_name: 'Adviser' });
      // The consent's id is Xero's claim, read by the provider (main/providers/xero/consent.ts), not by the flow.
      const authEventId = r.accessClaims?.authentication_event_id;
      expect(authEventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Math.abs(r.skewMs)).toBeLessThan(2_000);
      // The callback's other parameters are kept for the provider; the code and state never are.
      expect(r.callback).not.toHaveProperty('code');
      expect(r.callback).not.toHaveProperty('state');

      const listed = await api(sb, `/connections?authEventId=${authEventId}`, r.tokens.accessToken);
      expect(listed.status).toBe(200);
      expect(listed.body.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual([...ticked].sort());
      expect(listed.body.every((c: { authEventId: string }) => c.authEventId === authEventId)).toBe(true);

      // The browser tab saw the static success page; the listener is gone.
      for (let i = 0; i < 50 && browser.visits.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(browser.visits).toEqual([{ authorizeStatus: 302, callbackStatus: 200, callbackBody: expect.stringContaining('return to Relink') }]);
      await expect(navigate(r.redirectUri)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
  }

  it('falls back to the second registered port when the first is taken', async () => {
    const { w, ports } = await world();
    const held = await occupy(ports[0]!);
    try {
      await consent(w, w.tenantIds);
      const r = await run(clientFor(w), ports);
      expect(r).toMatchObject({ kind: 'connected', redirectUri: `http://127.0.0.1:${ports[1]}/callback` });
    } finally {
      await held.close();
    }
  });

  it('fails clearly, before opening any browser, when every registered port is taken', async () => {
    const { w, ports } = await world();
    const held = await Promise.all(ports.map((p) => occupy(p)));
    try {
      let opened = 0;
      const r = await run(clientFor(w), ports, { open: async () => void opened++ });
      expect(r).toEqual({ kind: 'ports-busy', ports, unavailable: ports.map((port) => ({ port, code: 'EADDRINUSE' })) });
      expect(opened).toBe(0);
      if (r.kind !== 'ports-busy') return;
      expect(describeAuthorizationProblem(r, { app: 'Practice Sync', provider: 'Xero' })).toEqual({
        code: 'rejected',
        message:
          `The sign-in reply addresses (ports ${ports.join(', ')}) registered for Practice Sync are all in use by other programs (or by another sign-in that is still waiting). ` +
          "Close them and try again, or register another port in Xero's developer portal and add the app again with it. (ports-busy)",
      });
    } finally {
      await Promise.all(held.map((h) => h.close()));
    }
  });

  it('with redirectHost localhost, works for an app registered with localhost redirect URIs', async () => {
    const { w, ports } = await world({ host: 'localhost' });
    await consent(w, w.tenantIds);
    const r = await run(clientFor(w), ports, { redirectHost: 'localhost' });
    expect(r).toMatchObject({ kind: 'connected', redirectUri: `http://localhost:${ports[0]}/callback` });
  });

  it('reports a denied consent as denied, with no token call', async () => {
    const { w, ports } = await world();
    await consent(w, [], 'deny');
    const counting = countingFetch();
    const r = await run(clientFor(w, { fetch: counting.fetch }), ports);
    expect(r).toEqual({ kind: 'denied' });
    expect(counting.tokenCalls()).toBe(0);
  });

  it('times out when nobody finishes in the browser, and closes the listener', async () => {
    const { w, ports } = await world();
    const r = await run(clientFor(w), ports, { open: async () => {}, timeoutMs: 200 });
    expect(r).toEqual({ kind: 'timeout' });
    await expect(navigate(`http://127.0.0.1:${ports[0]}/callback`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('is cancelled by its signal while waiting, and closes the listener', async () => {
    const { w, ports } = await world();
    const ctl = new AbortController();
    const r = await run(clientFor(w), ports, {
      open: async () => void setTimeout(() => ctl.abort(), 50),
      signal: ctl.signal,
    });
    expect(r).toEqual({ kind: 'cancelled' });
    await expect(navigate(`http://127.0.0.1:${ports[0]}/callback`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('reports a browser that cannot be opened, and closes the listener', async () => {
    const { w, ports } = await world();
    const r = await run(clientFor(w), ports, {
      open: async () => {
        throw new Error('Relink could not open the browser: the program “xdg-open” was not found.');
      },
    });
    expect(r).toEqual({ kind: 'browser-failed', reason: expect.stringContaining('xdg-open') });
    const again = await occupy(ports[0]!); // the port is free again
    await again.close();
  });

  /** A "browser" that comes back from the provider with `error=` instead of a code, as Xero's login pages do. */
  const returnsError = (error: string) => async (url: string) => {
    const authorize = new URL(url);
    const callback = new URL(authorize.searchParams.get('redirect_uri')!);
    callback.search = new URLSearchParams({ error, state: authorize.searchParams.get('state')! }).toString();
    await navigate(callback.href);
  };

  it('reports a provider error= as that error, with no token call, and words each kind for the person', async () => {
    const { w, ports } = await world();
    const names = { app: 'Practice Sync', provider: 'Xero' };
    const cases = [
      ['invalid_scope', 'rejected', "Xero refused the permissions Practice Sync asks for."],
      ['unauthorized_client', 'rejected', 'Xero does not let Practice Sync sign in this way.'],
      ['server_error', 'unreachable', "Xero's sign-in service had a problem"],
      ['temporarily_unavailable', 'unreachable', "Xero's sign-in service had a problem"],
      ['login_required', 'not-authorised', 'it needs you to log in'],
      ['invalid_request', 'rejected', 'Xero refused the sign-in request.'],
      ['something_new', 'rejected', 'an error Relink does not recognise'],
    ] as const;
    for (const [error, code, words] of cases) {
      const counting = countingFetch();
      const r = await run(clientFor(w, { fetch: counting.fetch }), ports, { open: returnsError(error) });
      const known = error === 'something_new' ? 'unrecognised' : error;
      expect(r, error).toEqual({ kind: 'provider-error', error: known });
      expect(counting.tokenCalls()).toBe(0);
      if (r.kind !== 'provider-error') continue;
      const problem = describeAuthorizationProblem(r, names);
      expect(problem.code, error).toBe(code);
      expect(problem.message, error).toContain(words);
      expect(problem.message, error).toMatch(new RegExp(`Nothing was changed.*\\(${error === 'something_new' ? 'provider-error' : error}\\)$`));
      expect(problem.message).not.toMatch(/Could not reach/);
    }
  });

  it('makes the code, the verifier and the tokens it receives known to the redactor', async () => {
    const { w, ports } = await world({ type: 'web' });
    await consent(w, w.tenantIds);
    let code = '';
    let verifierSeen = '';
    const spy: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/connect/token')) verifierSeen = new URLSearchParams(String(init?.body)).get('code_verifier') ?? '';
      return fetch(input, init);
    };
    const r = await run(clientFor(w, { fetch: spy }), ports, {
      open: async (url) => {
        const res = await fetch(url, { redirect: 'manual' });
        const location = new URL(res.headers.get('location')!, url);
        code = location.searchParams.get('code') ?? '';
        await navigate(location.href);
      },
    });
    if (r.kind !== 'connected') throw new Error(`not connected: ${JSON.stringify(r)}`);
    expect(code).not.toBe('');
    expect(verifierSeen).not.toBe('');
    // `redactUserData` applies registered values and token shapes only: what it removes here it knew by value.
    for (const value of [code, verifierSeen, r.tokens.refreshToken!]) {
      expect(redactUserData(`value ${value} end`)).toBe('value [REDACTED] end');
    }
    expect(redactSecrets(`at ${r.tokens.accessToken} and ${r.tokens.idToken}`)).toBe('at [REDACTED] and [REDACTED]');
  });

  it('exchanges the code once even when the browser hits the callback twice (reload)', async () => {
    const { w, ports } = await world();
    await consent(w, w.tenantIds);
    const counting = countingFetch();
    let second: { status: number; body: string } | null = null;
    const r = await run(clientFor(w, { fetch: counting.fetch }), ports, {
      open: async (url) => {
        const res = await fetch(url, { redirect: 'manual' });
        const location = new URL(res.headers.get('location')!, url).href;
        await navigate(location);
        second = await navigate(location);
      },
    });
    expect(r.kind).toBe('connected');
    expect(counting.tokenCalls()).toBe(1);
    expect(second).toMatchObject({ status: 200, body: expect.stringContaining('already been completed') });
  });

  it('a wrong client secret fails with the answered invalid_client outcome, and nothing secret in the result', async () => {
    const { w, ports } = await world({ type: 'web' });
    await consent(w, w.tenantIds);
    const r = await run(clientFor(w, { secret: 'wrong-' + w.clientSecret }), ports);
    expect(r).toMatchObject({ kind: 'failed', outcome: { ok: false, stage: 'answered', response: { status: 400, oauthError: 'invalid_client' } } });
    if (r.kind === 'failed') expect(r.reason).toContain('invalid_client');
    expect(JSON.stringify(r)).not.toContain(w.clientSecret!);
  });

  it('a token endpoint outage during the exchange fails with the raw outcome (answered 503)', async () => {
    const { w, ports } = await world();
    await consent(w, w.tenantIds);
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'status-503', retryAfter: 30 });
    const r = await run(clientFor(w), ports);
    expect(r).toMatchObject({ kind: 'failed', outcome: { ok: false, stage: 'answered', response: { status: 503, headers: { 'retry-after': '30' } } } });
  });

  it('a lost exchange response fails as sent-unknown', async () => {
    const { w, ports } = await world();
    await consent(w, w.tenantIds);
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: 0.2 });
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response' });
    const r = await run(clientFor(w), ports);
    expect(r).toMatchObject({ kind: 'failed', outcome: { ok: false, stage: 'sent-unknown', response: null } });
  });

  it('connects with the provider 10 minutes ahead, and reports the skew it estimated', async () => {
    const { w, ports } = await world();
    await sb.control('PUT', '/sandbox/settings', { clockSkewSeconds: 600 });
    await consent(w, w.tenantIds);
    const r = await run(clientFor(w), ports);
    if (r.kind !== 'connected') throw new Error(`not connected: ${JSON.stringify(r)}`);
    expect(Math.abs(r.skewMs - 600_000)).toBeLessThan(3_000);
    expect(r.claims!.xero_userid).toBe(w.userId);
  });
});
