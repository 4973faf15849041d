import { timingSafeEqual } from 'node:crypto';
import type { SbRequest } from '../../http/types.js';
import type { App, World } from '../world.js';

/**
 * Client authentication at the token and revocation endpoints. Web apps send `client_secret_basic` (or
 * `client_secret_post`); PKCE apps have no secret and send `client_id` in the form body.
 */
export function authenticateClient(world: World, req: SbRequest, form: URLSearchParams): App | null {
  let clientId = form.get('client_id');
  let secret = form.get('client_secret');
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64. Malformed escapes are bad credentials.
    const basicId = formDecode(decoded.slice(0, colon));
    const basicSecret = formDecode(decoded.slice(colon + 1));
    if (basicId === null || basicSecret === null) return null;
    if (clientId && clientId !== basicId) return null;
    clientId = basicId;
    secret = basicSecret;
  }
  if (!clientId) return null;
  const app = world.apps.get(clientId);
  if (!app) return null;
  if (app.type === 'pkce') return secret ? null : app;
  if (!secret || !app.clientSecret) return null;
  const a = Buffer.from(secret);
  const b = Buffer.from(app.clientSecret);
  return a.length === b.length && timingSafeEqual(a, b) ? app : null;
}

function formDecode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
