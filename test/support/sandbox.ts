import { createHash, randomBytes } from 'node:crypto';
import { startSandboxServer, type RunningSandbox } from '../../main/sandbox/server.js';
import type { SeedRequest } from '../../main/sandbox/xero/seeds.js';

/**
 * Test harness for the Xero sandbox: a real server on 127.0.0.1 and helpers that speak plain HTTP to it,
 * so every conformance test exercises the same wire protocol a client would.
 */
export interface TestSandbox extends RunningSandbox {
  /** Calls the control API; throws with the server's message unless the status is 2xx (or `expect`). */
  control<T = any>(method: string, path: string, body?: unknown, expect?: number): Promise<T>;
  /** Raw control call, for tests of the control API's own errors. */
  controlRaw(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

export async function startTestSandbox(seed: SeedRequest = { seed: 'empty' }): Promise<TestSandbox> {
  const running = await startSandboxServer({ port: 0, seed });
  const controlRaw = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.origin}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    ...running,
    controlRaw,
    async control(method, path, body, expect) {
      const r = await controlRaw(method, path, body);
      const ok = expect !== undefined ? r.status === expect : r.status >= 200 && r.status < 300;
      if (!ok) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const REDIRECT = 'http://127.0.0.1:5001/callback';
export const SCOPES = 'openid profile email offline_access accounting.settings';

export interface World {
  tenantIds: string[];
  userId: string;
  email: string;
  clientId: string;
  clientSecret?: string;
}

/** A small world: `orgs` organisations, one adviser in all of them, and one app. */
export async function buildWorld(
  sb: TestSandbox,
  opts: { orgs?: number; type?: 'pkce' | 'web'; multiOrgConsent?: boolean; app?: Record<string, unknown>; email?: string } = {},
): Promise<World> {
  const tenantIds: string[] = [];
  for (let i = 0; i < (opts.orgs ?? 2); i++) {
    const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name: `Org ${i + 1} ${randomBytes(3).toString('hex')}` });
    tenantIds.push(tenantId);
  }
  const email = opts.email ?? `adviser-${randomBytes(4).toString('hex')}@firm.example`;
  const { userId } = await sb.control('POST', '/sandbox/users', { email, givenName: 'Ada', familyName: 'Adviser' });
  for (const t of tenantIds) await sb.control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
  const app = await sb.control('POST', '/sandbox/apps', {
    name: `App ${randomBytes(3).toString('hex')}`,
    type: opts.type ?? 'pkce',
    redirectUris: [REDIRECT],
    multiOrgConsent: opts.multiOrgConsent ?? true,
    tier: 'advanced',
    ...opts.app,
  });
  return { tenantIds, userId, email, clientId: app.clientId, clientSecret: app.clientSecret };
}

export function authorizeUrl(
  origin: string,
  p: { clientId: string; redirectUri?: string; scope?: string; state?: string | null; challenge?: string | null; extra?: Record<string, string> },
): string {
  const url = new URL('/connect/authorize', origin);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', p.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri ?? REDIRECT);
  url.searchParams.set('scope', p.scope ?? SCOPES);
  if (p.state !== null) url.searchParams.set('state', p.state ?? 'st-' + randomBytes(6).toString('hex'));
  if (p.challenge) {
    url.searchParams.set('code_challenge', p.challenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(p.extra ?? {})) url.searchParams.set(k, v);
  return url.toString();
}

/** GET authorize without following redirects; returns status, Location (parsed) and body. */
export async function getAuthorize(url: string): Promise<{ status: number; location: URL | null; body: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  const loc = res.headers.get('location');
  return { status: res.status, location: loc ? new URL(loc, url) : null, body: await res.text() };
}

/** Form POST to the token endpoint. `basic` sends client_secret_basic; otherwise fields go in the body. */
export async function tokenRequest(
  origin: string,
  form: Record<string, string>,
  basic?: { clientId: string; clientSecret: string },
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.clientId}:${basic.clientSecret}`).toString('base64')}`;
  const res = await fetch(`${origin}/connect/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* leave as text */
  }
  return { status: res.status, body, headers: res.headers };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token?: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

/**
 * A whole headless consent: arrange it through the control API, run the authorize redirect, and exchange
 * the code with PKCE (or client_secret_basic for web apps). Returns the token response.
 */
export async function connect(
  sb: TestSandbox,
  w: World,
  opts: { tenantIds?: string[]; scope?: string; userId?: string } = {},
): Promise<Tokens & { authEventId: string }> {
  await sb.control('POST', '/sandbox/consents', {
    clientId: w.clientId,
    userId: opts.userId ?? w.userId,
    tenantIds: opts.tenantIds ?? w.tenantIds,
  });
  const { verifier, challenge } = pkcePair();
  const state = 'st-' + randomBytes(6).toString('hex');
  const auth = await getAuthorize(authorizeUrl(sb.origin, { clientId: w.clientId, challenge, state, scope: opts.scope }));
  if (auth.status !== 302 || !auth.location) throw new Error(`authorize did not redirect: ${auth.status} ${auth.body.slice(0, 200)}`);
  const code = auth.location.searchParams.get('code');
  if (!code) throw new Error(`authorize redirected without a code: ${auth.location}`);
  if (auth.location.searchParams.get('state') !== state) throw new Error('state was not echoed');
  const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
  const res = w.clientSecret
    ? await tokenRequest(sb.origin, form, { clientId: w.clientId, clientSecret: w.clientSecret })
    : await tokenRequest(sb.origin, { ...form, client_id: w.clientId });
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(res.body)}`);
  const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString('utf8'));
  return { ...res.body, authEventId: claims.authentication_event_id };
}

export async function refresh(sb: TestSandbox, w: World, refreshToken: string, extra: Record<string, string> = {}) {
  const form = { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra };
  return w.clientSecret
    ? tokenRequest(sb.origin, form, { clientId: w.clientId, clientSecret: w.clientSecret })
    : tokenRequest(sb.origin, { ...form, client_id: w.clientId });
}

/** GET an API path with a bearer token (and optional tenant). */
export async function api(
  sb: TestSandbox,
  path: string,
  accessToken: string | null,
  tenantId?: string,
  init: RequestInit = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  if (tenantId) headers['xero-tenant-id'] = tenantId;
  const res = await fetch(`${sb.origin}${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

export function decodeJwt(token: string): { header: any; payload: any } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')),
  };
}
