import type { SandboxContext } from '../context.js';
import { empty, json, readForm, type SbOutcome, type SbRequest } from '../../http/types.js';
import { authenticateAccessToken } from '../api/access-token.js';
import { authenticateClient } from './client-auth.js';

/**
 * `POST /connect/revocation` (RFC 7009 as Xero implements it): the refresh token dies and the user's
 * connections to the app are removed. Unknown tokens still get 200, as the RFC requires.
 */
export function revocation(ctx: SandboxContext, req: SbRequest): SbOutcome {
  const form = readForm(req);
  if (!form) return json(400, { error: 'invalid_request' });
  const app = authenticateClient(ctx.world, req, form);
  if (!app) return json(ctx.settings.invalidClientStatus, { error: 'invalid_client' });
  const token = form.get('token');
  if (!token) return json(400, { error: 'invalid_request' });
  ctx.world.revokeByRefreshToken(token, app.clientId);
  return empty(200);
}

/** `GET /connect/userinfo`: the OIDC claims the granted scopes allow. */
export async function userinfo(ctx: SandboxContext, req: SbRequest): Promise<SbOutcome> {
  const auth = await authenticateAccessToken(ctx, req);
  if (!auth.ok || !auth.family.scopes.includes('openid')) {
    return empty(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  const user = ctx.world.user(auth.family.userId);
  const claims: Record<string, string> = { sub: user.sub, xero_userid: user.userId };
  if (auth.family.scopes.includes('profile')) {
    claims.given_name = user.givenName;
    claims.family_name = user.familyName;
    claims.name = `${user.givenName} ${user.familyName}`;
  }
  if (auth.family.scopes.includes('email')) {
    claims.preferred_username = user.email;
    claims.email = user.email;
  }
  return json(200, claims);
}
