import type { SandboxContext } from '../context.js';
import { xeroExpiryStamp } from '../clock.js';
import { bearer, type SbOutcome, type SbRequest } from '../http/types.js';
import type { TokenFamily } from '../world.js';
import { unauthorized } from './problem.js';

export type AccessCheck =
  | { ok: true; family: TokenFamily; scopes: string[] }
  | { ok: false; outcome: SbOutcome };

/**
 * The first two gates of Xero's API (xero-protocol.md §11.6): an expired token answers `TokenExpired` (the
 * client should refresh and retry once); anything else wrong with it — garbled, foreign signature, revoked,
 * user or app deleted — answers `AuthenticationUnsuccessful`.
 */
export async function authenticateAccessToken(ctx: SandboxContext, req: SbRequest): Promise<AccessCheck> {
  const token = bearer(req);
  if (!token) return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful') };
  const verified = await ctx.key.verify(token, {
    issuer: ctx.origin,
    audience: `${ctx.origin}/resources`,
    nowSeconds: ctx.nowSeconds(),
  });
  if (!verified.ok) {
    if (verified.expiredAt !== undefined) {
      return { ok: false, outcome: unauthorized(`TokenExpired: token expired at ${xeroExpiryStamp(verified.expiredAt)}`) };
    }
    return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful') };
  }
  const family = ctx.world.familyForAccessToken(String(verified.payload.jti ?? ''));
  if (!family) return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful') };
  const scopes = Array.isArray(verified.payload.scope) ? verified.payload.scope.map(String) : [];
  return { ok: true, family, scopes };
}
