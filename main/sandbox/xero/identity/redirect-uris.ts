import type { SandboxSettings } from '../settings.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function parse(uri: string): URL | null {
  try {
    return new URL(uri);
  } catch {
    return null;
  }
}

/**
 * Whether `requested` matches one of the app's registered redirect URIs. Xero compares exactly (its
 * IdentityServer default); the sandbox can also allow RFC 8252 any-port loopback matching and treat
 * `127.0.0.1` and `localhost` alike, because neither is confirmed either way.
 */
export function redirectUriAllowed(registered: string[], requested: string, s: SandboxSettings): boolean {
  if (registered.includes(requested)) return true;
  const want = parse(requested);
  if (!want || !LOOPBACK.has(want.hostname)) return false;
  return registered.some((r) => {
    const reg = parse(r);
    if (!reg || !LOOPBACK.has(reg.hostname)) return false;
    const hostOk = reg.hostname === want.hostname || s.loopbackHostsEquivalent;
    const portOk = reg.port === want.port || s.redirectPortMatching === 'any-port';
    return hostOk && portOk && reg.protocol === want.protocol && reg.pathname === want.pathname && reg.search === want.search;
  });
}

/** Appends query parameters to a redirect URI that may already carry some. */
export function withParams(uri: string, params: Record<string, string | null>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return url.toString();
}
