import { decodeJwt } from 'jose';
import type { SandboxContext } from '../context.js';
import { xeroExpiryStamp } from '../../clock.js';
import { bearer, type SbOutcome, type SbRequest } from '../../http/types.js';
import type { TokenFamily } from '../world.js';
import { unauthorized } from './problem.js';

export type AccessCheck =
  | { ok: true; family: TokenFamily; scopes: string[] }
  /** `clientId` names the app when the token's signature checked out (expired or revoked), else null. */
  | { ok: false; outcome: SbOutcome; clientId: string | null };

/**
 * The first two gates of Xero's API (xero-protocol.md §11.6): an expired token answers `TokenExpired` (the
 * client should refresh and retry once); anything else wrong with it — garbled, foreign signature, revoked,
 * user or app deleted — answers `AuthenticationUnsuccessful`.
 */
export async function authenticateAccessToken(ctx: SandboxContext, req: SbRequest): Promise<AccessCheck> {
  const token = bearer(req);
  if (!token) return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful'), clientId: null };
  const verified = await ctx.key.verify(token, {
    issuer: ctx.origin,
    audience: `${ctx.origin}/resources`,
    nowSeconds: ctx.nowSeconds(),
  });
  if (!verified.ok) {
    if (verified.expiredAt !== undefined) {
      // jose reports expiry only after the signature verified, so the claims can be trusted to name the app.
      const clientId = decodeJwt(token).client_id;
      return {
        ok: false,
        outcome: unauthorized(`TokenExpired: token expired at ${xeroExpiryStamp(verified.expiredAt)}`),
        clientId: typeof clientId === 'string' ? clientId : null,
      };
    }
    return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful'), clientId: null };
  }
  const clientId = typeof verified.payload.client_id === 'string' ? verified.payload.client_id : null;
  const family = ctx.world.familyForAccessToken(String(verified.payload.jti ?? ''));
  if (!family) return { ok: false, outcome: unauthorized('AuthenticationUnsuccessful'), clientId };
  const scopes = Array.isArray(verified.payload.scope) ? verified.payload.scope.map(String) : [];
  return { ok: true, family, scopes };
}
