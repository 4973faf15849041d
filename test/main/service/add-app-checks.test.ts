import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { AddAppInput } from '../../../shared/api.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Adding an app checks what can be checked before anyone signs in (the client id's form, the issuer's
 * discovery document, whether Xero's token endpoint accepts the client), saves nothing when a check fails,
 * and says what only the first sign-in can show. A sign-in Relink knows will fail (Xero rejects the app) is
 * refused before the browser opens. Real HTTP to the sandbox, real keychain.
 */
describe('service: checks on adding an app, and sign-ins known to fail (issue 10, items 8 and 9)', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  const input = (over: Partial<AddAppInput>): AddAppInput => ({
    name: 'Practice Sync',
    clientId: '1344E98C0A6B4E2F9E0D7C2B1A3F4E5D',
    authType: 'pkce',
    issuer: sb.origin,
    redirectPorts: [5001],
    ...over,
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`"not a client id" is refused, saying what a Xero client id looks like; nothing is saved${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const service = await h.open();
    await expect(service.addApp(input({ clientId: 'not a client id' }), null)).rejects.toMatchObject({
      code: 'usage',
      message: expect.stringMatching(/^"not a client id" is not a Xero client id: Xero's client ids are 32 letters and digits \(0–9 and A–F\)/),
    });
    expect(service.apps()).toEqual([]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`sign-in settings that point the token endpoint somewhere else: refused as wrong settings, the secret sent nowhere, nothing saved${NO_KEYCHAIN}`, async () => {
    const sent: string[] = [];
    const tampering: typeof fetch = async (request, init) => {
      const url = String(request instanceof Request ? request.url : request);
      sent.push(url);
      const res = await fetch(request, init);
      if (!url.endsWith('/.well-known/openid-configuration')) return res;
      return new Response(JSON.stringify({ ...(await res.json()), token_endpoint: 'https://collector.example/connect/token' }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    };
    h = createHarness(sb, { fetch: tampering });
    const service = await h.open();
    const web = await sandboxApp(sb, { type: 'web' });
    await expect(service.addApp(input({ clientId: web.clientId, authType: 'web' }), web.clientSecret!)).rejects.toMatchObject({
      code: 'rejected',
      message: expect.stringMatching(/answered, but not with valid Xero sign-in settings.*its token endpoint is https:\/\/collector\.example, which is not one of its own addresses, so Relink sent nothing there/),
    });
    expect(sent.filter((u) => u.includes('collector.example'))).toEqual([]);
    expect(service.apps()).toEqual([]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a web app: a wrong secret is refused with invalid_client; the right one is verified, and the rest left to the first sign-in${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const service = await h.open();
    const web = await sandboxApp(sb, { type: 'web' });
    await expect(service.addApp(input({ clientId: web.clientId, authType: 'web' }), 'not-the-secret')).rejects.toMatchObject({
      code: 'rejected',
      message: expect.stringMatching(/^Xero does not accept this client id and secret \(40[01] invalid_client\)\. Nothing was saved/),
    });
    expect(service.apps()).toEqual([]);

    const { app, checks } = await service.addAppChecked(input({ clientId: web.clientId, authType: 'web', redirectPorts: web.ports }), web.clientSecret);
    expect(checks.verified).toEqual([
      "The client id has Xero's form (32 letters and digits).",
      `Xero's sign-in server at ${new URL(sb.origin).host} answered with valid sign-in settings.`,
      'Xero accepts the client id and secret.',
    ]);
    expect(checks.atFirstSignIn[0]).toBe(
      `That the redirect URIs ${web.ports.map((p) => `http://127.0.0.1:${p}/callback`).join(', ')} are registered for the app exactly: Xero checks them only when someone signs in.`,
    );
    expect(service.apps().map((a) => a.id)).toEqual([app.id]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`a PKCE client id Xero does not know, or a web app's id sent without its secret, is refused${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const service = await h.open();
    await expect(service.addApp(input({ clientId: 'ABCDEF0123456789ABCDEF0123456789' }), null)).rejects.toMatchObject({
      code: 'rejected',
      message: expect.stringMatching(/^Xero does not accept this client id without a secret \(40[01] invalid_client\)/),
    });
    const web = await sandboxApp(sb, { type: 'web' });
    await expect(service.addApp(input({ clientId: web.clientId }), null)).rejects.toMatchObject({ code: 'rejected', message: /add it as a web app/ });
    const pkce = await sandboxApp(sb, { type: 'pkce' });
    const { checks } = await service.addAppChecked(input({ clientId: pkce.clientId }), null);
    expect(checks.verified).toContain('Xero knows the client id, as an app without a secret (PKCE).');
    expect(service.apps()).toHaveLength(1);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`offline: "Relink can't reach Xero", never a bare ENOTFOUND; a server that is not a sign-in server is refused${NO_KEYCHAIN}`, async () => {
    // This computer has no network: name resolution fails as it does offline.
    const offline: typeof fetch = async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND identity.xero.com'), { code: 'ENOTFOUND' }) });
    };
    h = createHarness(sb, { fetch: offline });
    const service = await h.open();
    const { issuer: _sandbox, ...xero } = input({});
    await expect(service.addApp(xero, null)).rejects.toMatchObject({
      code: 'unreachable',
      message:
        "Relink can't reach Xero (identity.xero.com), so it could not check Practice Sync. Nothing was saved: check this computer's internet connection (and any proxy or VPN), then add the app again. (ENOTFOUND)",
    });
    expect(service.apps()).toEqual([]);
    await service.close();

    // A web server that answers, but has no discovery document.
    const other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('Not here'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (other.address() as { port: number }).port;
      const h2 = createHarness(sb);
      try {
        const s2 = await h2.open();
        await expect(s2.addApp(input({ issuer: `http://127.0.0.1:${port}` }), null)).rejects.toMatchObject({
          code: 'rejected',
          message: `127.0.0.1:${port} answered, but not with valid Xero sign-in settings, so Relink cannot sign in there. Nothing was saved: check the sign-in server's address (leave it empty for Xero). (HTTP 404)`,
        });
        // And nothing listening at all is "can't reach", with the code for support.
        await expect(s2.addApp(input({ issuer: 'http://127.0.0.1:9' }), null)).rejects.toMatchObject({
          code: 'unreachable',
          message: /^Relink can't reach Xero's sign-in server at 127\.0\.0\.1:9, .*\(ECONNREFUSED\)$/,
        });
      } finally {
        await h2.dispose();
      }
    } finally {
      await new Promise((r) => other.close(r));
    }
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`Reconnect for an app Xero rejects is refused before any browser opens, with the fix${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const web = await sandboxApp(sb, { type: 'web' });
    const service = await h.open();
    const app = await h.addApp(service, web, { name: 'Reporting' });
    await h.connect(service, app, firm.userId, firm.tenantIds);
    await sb.control('POST', `/sandbox/apps/${web.clientId}/secret`);
    expect(await service.check()).toMatchObject({ appRejected: 1 });

    let opened = 0;
    await expect(service.connect(app.id, { open: async () => void opened++, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'rejected',
      message:
        "Xero rejects Reporting's credentials (400 invalid_client), so a sign-in would fail at its last step. Update the app's secret first: Apps → Reporting → Enter the new client secret. Nothing was changed.",
    });
    expect(opened, 'no sign-in page was opened').toBe(0);
  });
});
