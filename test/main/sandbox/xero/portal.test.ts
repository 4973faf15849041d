import { describe, expect, it } from 'vitest';
import { SANDBOX_PORTAL_PATH } from '../../../../main/sandbox/xero/portal.js';
import { buildWorld, tokenRequest } from '../../../support/sandbox.js';
import { useSandbox } from '../../../support/use-sandbox.js';

/**
 * The demo's stand-in for Xero's developer portal: lists the sandbox's apps, says it is a stand-in, shows a web
 * app's current secret only when asked, and generates a new one (the old one stops at once) only from its own
 * page's form.
 */
describe('sandbox: developer portal (demo stand-in)', () => {
  const sb = useSandbox({ resetEachTest: true });
  const portal = (query = '') => fetch(`${sb.origin}${SANDBOX_PORTAL_PATH}${query}`, { redirect: 'manual' });
  /** A refresh with a made-up token: invalid_client when the secret is wrong, invalid_grant when it is right. */
  const secretWorks = async (clientId: string, clientSecret: string) =>
    (await tokenRequest(sb.origin, { grant_type: 'refresh_token', refresh_token: 'made-up' }, { clientId, clientSecret })).body.error === 'invalid_grant';

  it('lists every app, labelled as the demo stand-in, with secrets hidden until revealed', async () => {
    const web = await buildWorld(sb, { type: 'web', app: { name: 'Harbour Reporting' } });
    await buildWorld(sb, { type: 'pkce', app: { name: 'Harbour Practice Sync' } });
    const res = await portal();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    const body = await res.text();
    expect(body).toContain("The demo's stand-in for Xero's developer portal.");
    expect(body).toContain('it exists only in the sandbox');
    for (const name of ['Harbour Reporting', 'Harbour Practice Sync']) expect(body).toMatch(new RegExp(`<h2 id="app-[0-9A-F]{32}-name">${name}</h2>`));
    expect(body).toContain(web.clientId);
    expect(body, 'the secret is not on the page until asked for').not.toContain(web.clientSecret!);
    expect(body).toContain('No client secret: this app signs in with PKCE.');

    const shown = await (await portal(`?reveal=${web.clientId}`)).text();
    expect(shown).toContain(`value="${web.clientSecret}"`);
  });

  it('generates a new secret from its own form only: the old one stops, the page shows the new one', async () => {
    const web = await buildWorld(sb, { type: 'web' });
    const form = (token: string) =>
      fetch(`${sb.origin}${SANDBOX_PORTAL_PATH}/apps/${web.clientId}/secret`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });

    // Another site posting to the sandbox does not know the page's token.
    const forged = await form('guess');
    expect(forged.status).toBe(403);
    expect(await secretWorks(web.clientId, web.clientSecret!), 'nothing was rotated').toBe(true);

    const page = await (await portal()).text();
    const token = /name="token" value="([^"]+)"/.exec(page)![1]!;
    const rotated = await form(token);
    expect(rotated.status).toBe(303);
    const next = await fetch(new URL(rotated.headers.get('location')!, sb.origin));
    const html = await next.text();
    expect(html).toContain('New secret generated. The old one no longer works');
    const secret = new RegExp(`id="app-${web.clientId}-secret" readonly value="([^"]+)"`).exec(html)![1]!;
    expect(secret).not.toBe(web.clientSecret);
    expect(await secretWorks(web.clientId, web.clientSecret!)).toBe(false);
    expect(await secretWorks(web.clientId, secret)).toBe(true);
  });
});
