import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  buildWorld,
  connect,
  decodeJwt,
  pkcePair,
  REDIRECT,
  tokenRequest,
  type World,
} from '../../../../support/sandbox.js';
import { useSandbox } from '../../../../support/use-sandbox.js';

/**
 * The HTML login and consent pages, driven the way a browser would with plain form POSTs: authorize shows a
 * login page, the person picks who they are, then ticks organisations and allows or cancels. The pages are
 * server-rendered with no script, so every value shown must be escaped.
 */
describe('identity: login and consent pages', () => {
  const sb = useSandbox({ resetEachTest: true });

  const form = (body: Record<string, string | string[]>) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const x of [v].flat()) p.append(k, x);
    return p;
  };
  const post = (path: string, body: Record<string, string | string[]>) =>
    fetch(`${sb.origin}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form(body),
    });

  interface OrgRow {
    type: string;
    tenantId: string;
    disabled: boolean;
    name: string;
    badge: string | null;
  }
  /** The organisation rows of a consent page, in page order. */
  function orgRows(html: string): OrgRow[] {
    const re = /<label class="org[^"]*"><input type="(\w+)" name="tenantId" value="([^"]*)"( disabled)?> (.*?) (?:<span class="badge">([^<]*)<\/span>)?<\/label>/g;
    return [...html.matchAll(re)].map((m) => ({
      type: m[1]!,
      tenantId: m[2]!,
      disabled: Boolean(m[3]),
      name: m[4]!,
      badge: m[5] ?? null,
    }));
  }
  const hidden = (html: string, name: string) => new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html)?.[1];

  /** Starts an authorize request (no arranged consent) and returns the login page with its handle and PKCE verifier. */
  async function openLogin(w: World, extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkcePair();
    const state = 'st-' + randomBytes(4).toString('hex');
    const res = await fetch(authorizeUrl(sb.origin, { clientId: w.clientId, challenge, state, extra }), { redirect: 'manual' });
    const html = await res.text();
    return { res, html, handle: hidden(html, 'req')!, verifier, state };
  }

  /** Logs in as `email` and returns the consent page. */
  async function login(handle: string, email: string) {
    const res = await post('/identity/login', { req: handle, email });
    expect(res.status).toBe(303);
    const consentUrl = new URL(res.headers.get('location')!, sb.origin);
    const page = await fetch(consentUrl);
    return { status: page.status, headers: page.headers, html: await page.text(), consentUrl };
  }

  const submit = (handle: string, decision: 'allow' | 'deny', tenantIds: string[] = []) =>
    post('/connect/authorize/consent', { req: handle, decision, tenantId: tenantIds });

  const stateConnections = async (w: World) =>
    (await sb.control('GET', '/sandbox/state')).connections.filter((c: any) => c.clientId === w.clientId);

  describe('the login page', () => {
    it('appears when no consent was arranged, as a script-free HTML page that cannot be framed', async () => {
      const w = await buildWorld(sb);
      const { res, html, handle } = await openLogin(w);
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(html).toContain('Log in to Xero');
      expect(html).toContain('<form method="post" action="/identity/login">');
      expect(handle).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(html).not.toMatch(/<script/i);
    });

    it('lists the sandbox’s users to log in as', async () => {
      const w = await buildWorld(sb);
      const { html } = await openLogin(w);
      expect(html).toContain(`<option value="${w.email}">Ada Adviser (${w.email})</option>`);
    });

    it('asks again when the chosen person does not exist', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      const res = await post('/identity/login', { req: handle, email: 'nobody@nowhere.example' });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('Choose a staff member to log in as.');
      expect(hidden(html, 'req')).toBe(handle);
    });

    it('matches the email case-insensitively', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      const res = await post('/identity/login', { req: handle, email: w.email.toUpperCase() });
      expect(res.status).toBe(303);
    });

    it('refuses an unknown or missing request handle with an error page', async () => {
      const w = await buildWorld(sb);
      for (const req of ['made-up-handle', '']) {
        const res = await post('/identity/login', { req, email: w.email });
        expect(res.status).toBe(400);
        expect(await res.text()).toContain('This login page has expired');
      }
    });
  });

  describe('the consent page', () => {
    it('cannot be reached before logging in', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      const res = await fetch(`${sb.origin}/connect/authorize/consent?req=${handle}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('This consent page has expired');
      expect((await submit(handle, 'allow', w.tenantIds)).status).toBe(400);
    });

    it('shows who is logged in, what the app asks for, and the user’s organisations by name', async () => {
      const w = await buildWorld(sb, { orgs: 3 });
      const { handle } = await openLogin(w);
      const page = await login(handle, w.email);
      expect(page.status).toBe(200);
      expect(page.html).toContain(`Logged in as <strong>Ada Adviser</strong> (${w.email})`);
      for (const s of ['openid', 'profile', 'email', 'offline_access', 'accounting.settings']) expect(page.html).toContain(`<code>${s}</code>`);
      expect(page.html).toContain('Keep access when you are not using the app');
      const rows = orgRows(page.html);
      expect(rows.map((r) => r.tenantId).sort()).toEqual([...w.tenantIds].sort());
      const names = rows.map((r) => r.name);
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
      expect(rows.every((r) => !r.disabled && r.badge === null)).toBe(true);
    });

    it('lists only organisations the user belongs to', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: 'Not Mine Ltd' });
      const page = await login((await openLogin(w)).handle, w.email);
      expect(orgRows(page.html).map((r) => r.tenantId)).toEqual(w.tenantIds);
      expect(page.html).not.toContain(tenantId);
      expect(page.html).not.toContain('Not Mine Ltd');
    });

    it('uses checkboxes for an app with multiOrgConsent', async () => {
      const w = await buildWorld(sb, { orgs: 2, multiOrgConsent: true });
      const page = await login((await openLogin(w)).handle, w.email);
      const rows = orgRows(page.html);
      expect(rows).toHaveLength(2);
      expect(rows.map((r) => r.type)).toEqual(['checkbox', 'checkbox']);
      expect(page.html).toContain('Organisations to connect');
      expect(page.html).not.toContain('connects one organisation at a time');
    });

    it('uses radio buttons, and says one at a time, for an app without multiOrgConsent', async () => {
      const w = await buildWorld(sb, { orgs: 2, multiOrgConsent: false });
      const page = await login((await openLogin(w)).handle, w.email);
      expect(orgRows(page.html).map((r) => r.type)).toEqual(['radio', 'radio']);
      expect(page.html).toContain('Organisation to connect');
      expect(page.html).toContain('This app connects one organisation at a time.');
    });

    it('badges organisations this user already connected to the app', async () => {
      const w = await buildWorld(sb, { orgs: 2 });
      await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const page = await login((await openLogin(w)).handle, w.email);
      const rows = new Map(orgRows(page.html).map((r) => [r.tenantId, r]));
      expect(rows.get(w.tenantIds[0]!)!.badge).toBe('Already connected');
      expect(rows.get(w.tenantIds[1]!)!.badge).toBeNull();
      expect(rows.get(w.tenantIds[0]!)!.disabled).toBe(false);
    });

    it('disables and badges new organisations once the app is at its connection cap, and states the cap', async () => {
      const w = await buildWorld(sb, { orgs: 3, app: { connectionCap: 1 } });
      await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const page = await login((await openLogin(w)).handle, w.email);
      const rows = new Map(orgRows(page.html).map((r) => [r.tenantId, r]));
      expect(rows.get(w.tenantIds[0]!)).toMatchObject({ disabled: false, badge: 'Already connected' });
      for (const t of w.tenantIds.slice(1)) expect(rows.get(t)).toMatchObject({ disabled: true, badge: 'Connection limit reached' });
      expect(page.html).toContain('tier allows 1 connected organisation.');
    });

    it('sends a forged POST of an over-cap organisation to /connectionLimit, connecting nothing new', async () => {
      const w = await buildWorld(sb, { orgs: 2, app: { connectionCap: 1 } });
      await connect(sb, w, { tenantIds: [w.tenantIds[0]!] });
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      const res = await submit(handle, 'allow', [w.tenantIds[1]!]);
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!, sb.origin).pathname).toBe('/connectionLimit');
      expect((await stateConnections(w)).map((c: any) => c.tenantId)).toEqual([w.tenantIds[0]]);
    });
  });

  describe('submitting the consent', () => {
    it('Allow with ticked organisations redirects with a code that exchanges for tokens', async () => {
      const w = await buildWorld(sb, { orgs: 3 });
      const { handle, verifier, state } = await openLogin(w);
      await login(handle, w.email);
      const picked = w.tenantIds.slice(0, 2);
      const res = await submit(handle, 'allow', picked);
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.get('location')!);
      expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
      expect(loc.searchParams.get('state')).toBe(state);
      expect(loc.searchParams.get('session_state')).toBeTruthy();
      const code = loc.searchParams.get('code')!;
      const t = await tokenRequest(sb.origin, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: w.clientId,
      });
      expect(t.status).toBe(200);
      const conns = await stateConnections(w);
      expect(conns.map((c: any) => c.tenantId).sort()).toEqual([...picked].sort());
      expect(conns.every((c: any) => c.userId === w.userId)).toBe(true);
      expect(conns.map((c: any) => c.authEventId)).toEqual(conns.map(() => decodeJwt(t.body.access_token).payload.authentication_event_id));
    });

    it('carries the nonce through the page flow into the id_token', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const { handle, verifier } = await openLogin(w, { nonce: 'page-nonce-1' });
      await login(handle, w.email);
      const loc = new URL((await submit(handle, 'allow', w.tenantIds)).headers.get('location')!);
      const t = await tokenRequest(sb.origin, {
        grant_type: 'authorization_code',
        code: loc.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: w.clientId,
      });
      expect(decodeJwt(t.body.id_token).payload.nonce).toBe('page-nonce-1');
    });

    it('Cancel redirects with error=access_denied and the state, connecting nothing', async () => {
      const w = await buildWorld(sb);
      const { handle, state } = await openLogin(w);
      await login(handle, w.email);
      const res = await submit(handle, 'deny', w.tenantIds);
      expect(res.status).toBe(302);
      const loc = new URL(res.headers.get('location')!);
      expect(loc.searchParams.get('error')).toBe('access_denied');
      expect(loc.searchParams.get('state')).toBe(state);
      expect(loc.searchParams.has('code')).toBe(false);
      expect(await stateConnections(w)).toEqual([]);
    });

    it('Allow with nothing ticked shows the page again asking for an organisation', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      const res = await submit(handle, 'allow', []);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('Choose an organisation to connect.');
      expect(orgRows(html)).toHaveLength(2);
      // The request is still open: ticking one now succeeds.
      expect((await submit(handle, 'allow', [w.tenantIds[0]!])).status).toBe(302);
    });

    it('refuses two organisations for an app without multiOrgConsent', async () => {
      const w = await buildWorld(sb, { orgs: 2, multiOrgConsent: false });
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      const res = await submit(handle, 'allow', w.tenantIds);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('This app connects one organisation at a time.');
      expect(await stateConnections(w)).toEqual([]);
      expect((await submit(handle, 'allow', [w.tenantIds[1]!])).status).toBe(302);
      expect((await stateConnections(w)).map((c: any) => c.tenantId)).toEqual([w.tenantIds[1]]);
    });

    it('refuses an organisation the user does not belong to', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: 'Someone Else Ltd' });
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      const res = await submit(handle, 'allow', [tenantId]);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('You can only connect organisations you belong to.');
      expect(await stateConnections(w)).toEqual([]);
    });

    it('makes the request single use: submitting it again shows the expired page', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      expect((await submit(handle, 'allow', [w.tenantIds[0]!])).status).toBe(302);
      const again = await submit(handle, 'allow', [w.tenantIds[1]!]);
      expect(again.status).toBe(400);
      expect(await again.text()).toContain('This consent page has expired');
      expect((await stateConnections(w)).map((c: any) => c.tenantId)).toEqual([w.tenantIds[0]]);
    });
    it('shows the expired page, not a server error, when the user was deleted after logging in', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      await sb.control('DELETE', `/sandbox/users/${w.userId}`);
      const res = await submit(handle, 'allow', [w.tenantIds[0]!]);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('This consent page has expired');
    });

    it('shows an error page when the app was deleted after logging in', async () => {
      const w = await buildWorld(sb);
      const { handle } = await openLogin(w);
      await login(handle, w.email);
      await sb.control('DELETE', `/sandbox/apps/${w.clientId}`);
      const res = await submit(handle, 'allow', [w.tenantIds[0]!]);
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('unauthorized_client : Unknown client or client not enabled');
    });
  });

  describe('escaping', () => {
    const SCRIPT = '<script>alert("x")</script>';

    it('escapes organisation names', async () => {
      const w = await buildWorld(sb, { orgs: 1 });
      const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: `${SCRIPT} & 'Sons'` });
      await sb.control('PUT', `/sandbox/users/${w.userId}/orgs/${tenantId}`, { role: 'adviser' });
      const page = await login((await openLogin(w)).handle, w.email);
      expect(page.html).not.toMatch(/<script/i);
      expect(page.html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;Sons&#39;');
      expect(orgRows(page.html).map((r) => r.tenantId)).toContain(tenantId);
    });

    it('escapes the app name and the user’s name on the login, consent and connection-limit pages', async () => {
      const w = await buildWorld(sb, { orgs: 2, app: { name: `<img src=x onerror=alert(1)> ${SCRIPT}`, connectionCap: 1 } });
      const { userId } = await sb.control('POST', '/sandbox/users', { email: 'evil@firm.example', givenName: SCRIPT, familyName: '<b>bold</b>' });
      for (const t of w.tenantIds) await sb.control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
      const { html: loginHtml, handle } = await openLogin(w);
      expect(loginHtml).not.toMatch(/<script|<img|<b>/i);
      expect(loginHtml).toContain('&#60;img src=x onerror=alert(1)&#62;');
      const page = await login(handle, 'evil@firm.example');
      expect(page.html).not.toMatch(/<script|<img|<b>/i);
      expect(page.html).toContain('&#60;b&#62;bold&#60;/b&#62;');
      const res = await submit(handle, 'allow', w.tenantIds);
      const limit = await fetch(new URL(res.headers.get('location')!, sb.origin));
      const limitHtml = await limit.text();
      expect(limitHtml).toContain('Connection limit reached');
      expect(limitHtml).not.toMatch(/<script|<img/i);
    });

    it('does not reflect a crafted request handle', async () => {
      const crafted = '"><script>x</script>';
      const consent = await fetch(`${sb.origin}/connect/authorize/consent?req=${encodeURIComponent(crafted)}`);
      expect(consent.status).toBe(400);
      expect(await consent.text()).not.toMatch(/<script/i);
      const login = await post('/identity/login', { req: crafted, email: 'x@y.example' });
      expect(login.status).toBe(400);
      expect(await login.text()).not.toMatch(/<script/i);
    });
  });
});
