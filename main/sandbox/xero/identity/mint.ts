import type { SandboxContext } from '../context.js';
import { atHash } from '../signing.js';
import type { TokenFamily } from '../world.js';

/**
 * Builds a token response in Xero's exact shape (xero-protocol.md §4.1, §4.3, §4.4): an RS256 access token
 * with Xero's claims and `scope` as an array, an id_token only when `openid` was granted, a refresh token
 * only with `offline_access`, and `scope` on the wire as a space-separated string.
 */
export async function mintTokenResponse(
  ctx: SandboxContext,
  family: TokenFamily,
  refreshToken: string | null,
  nonce: string | null,
): Promise<Record<string, unknown>> {
  const user = ctx.world.user(family.userId);
  const now = ctx.nowSeconds();
  const s = ctx.settings;
  const jti = ctx.world.ids.hex32();
  const accessExp = now + s.accessTokenSeconds;
  const accessToken = await ctx.key.sign({
    nbf: now,
    exp: accessExp,
    iss: ctx.origin,
    aud: `${ctx.origin}/resources`,
    client_id: family.clientId,
    sub: user.sub,
    auth_time: family.authTime,
    xero_userid: user.userId,
    global_session_id: family.sessionId,
    jti,
    authentication_event_id: family.authEventId,
    scope: family.scopes,
  });
  ctx.world.rememberAccessToken(jti, family.id, accessExp);

  const body: Record<string, unknown> = {};
  if (family.scopes.includes('openid')) {
    const claims: Record<string, unknown> = {
      nbf: now,
      exp: now + s.idTokenSeconds,
      iss: ctx.origin,
      aud: family.clientId,
      iat: now,
      at_hash: atHash(accessToken),
      sid: family.sessionId,
      sub: user.sub,
      auth_time: family.authTime,
      xero_userid: user.userId,
      global_session_id: family.sessionId,
    };
    if (nonce) claims.nonce = nonce;
    if (family.scopes.includes('email')) {
      claims.preferred_username = user.email;
      claims.email = user.email;
    }
    if (family.scopes.includes('profile')) {
      claims.given_name = user.givenName;
      claims.family_name = user.familyName;
    }
    body.id_token = await ctx.key.sign(claims);
  }
  body.access_token = accessToken;
  body.expires_in = s.accessTokenSeconds;
  body.token_type = 'Bearer';
  if (refreshToken && family.scopes.includes('offline_access')) body.refresh_token = refreshToken;
  body.scope = family.scopes.join(' ');
  return body;
}
