/**
 * Where Xero lives. The OpenID endpoints (authorize, token, revocation, userinfo, JWKS) are read from the
 * issuer's discovery document at runtime; this file holds only the issuer, the API base, and which hosts
 * those discovered endpoints may point at, so a tampered or mistaken discovery document cannot send a
 * refresh token anywhere else (xero-protocol.md §1).
 *
 * Real Xero uses three hosts: login.xero.com (authorize), identity.xero.com (token, revocation, userinfo,
 * JWKS, discovery) and api.xero.com (connections and the accounting API). The sandbox serves all of them on
 * one loopback origin.
 */

export const XERO_ISSUER = 'https://identity.xero.com';
export const XERO_API_BASE = 'https://api.xero.com';

export interface XeroProviderConfig {
  /** OpenID issuer; discovery is `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** Base of `/connections` and `/api.xro/2.0/…`, without a trailing slash. */
  apiBase: string;
  /** Origins (scheme://host[:port]) that discovered endpoints may use. */
  allowedOrigins: readonly string[];
  /** True for a local sandbox: plain http on a loopback address is accepted. */
  sandbox: boolean;
}

/** Xero itself. */
export const XERO_PRODUCTION: XeroProviderConfig = Object.freeze({
  issuer: XERO_ISSUER,
  apiBase: XERO_API_BASE,
  allowedOrigins: Object.freeze(['https://identity.xero.com', 'https://login.xero.com']),
  sandbox: false,
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Points everything at a sandbox origin (e.g. `http://127.0.0.1:4417`): issuer = origin, apiBase = origin.
 * Only loopback origins are accepted, since the sandbox speaks plain http.
 */
export function sandboxProvider(origin: string): XeroProviderConfig {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error('The sandbox address is not a valid URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('The sandbox address must start with http:// or https://.');
  if (!LOOPBACK_HOSTS.has(url.hostname)) throw new Error('The sandbox must run on this computer (127.0.0.1 or localhost).');
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new Error('The sandbox address must be an origin only, such as http://127.0.0.1:4417.');
  }
  const o = url.origin;
  return { issuer: o, apiBase: o, allowedOrigins: [o], sandbox: true };
}

/** The provider configuration for an app record's `issuer` and `apiBase` (shared/domain.ts `App`). */
export function providerFor(app: { issuer: string; apiBase: string }): XeroProviderConfig {
  const issuer = trimSlash(app.issuer);
  const apiBase = trimSlash(app.apiBase);
  if (issuer === XERO_ISSUER && apiBase === XERO_API_BASE) return XERO_PRODUCTION;
  const sb = sandboxProvider(new URL(issuer).origin);
  if (new URL(apiBase).origin !== sb.issuer) throw new Error('A sandbox app must use the sandbox origin for both issuer and API.');
  return sb;
}

export function discoveryUrl(config: Pick<XeroProviderConfig, 'issuer'>): string {
  return `${trimSlash(config.issuer)}/.well-known/openid-configuration`;
}

/**
 * Whether a URL taken from the discovery document may be used: https on one of Xero's identity hosts, or
 * the sandbox's own origin.
 */
export function isAllowedEndpoint(config: XeroProviderConfig, endpoint: string): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (!config.sandbox && url.protocol !== 'https:') return false;
  return config.allowedOrigins.includes(url.origin);
}

/** `GET {apiBase}/connections[?authEventId=…]`. */
export function connectionsUrl(apiBase: string, authEventId?: string): string {
  const base = `${trimSlash(apiBase)}/connections`;
  return authEventId ? `${base}?${new URLSearchParams({ authEventId })}` : base;
}

/** `DELETE {apiBase}/connections/{connectionId}`. */
export function connectionUrl(apiBase: string, connectionId: string): string {
  return `${trimSlash(apiBase)}/connections/${encodeURIComponent(connectionId)}`;
}

/** `{apiBase}/api.xro/2.0/{resource}`, e.g. `Organisation` or `Reports/BalanceSheet`. */
export function accountingUrl(apiBase: string, resource: string): string {
  const path = resource
    .split('/')
    .filter(Boolean)
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  return `${trimSlash(apiBase)}/api.xro/2.0/${path}`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
