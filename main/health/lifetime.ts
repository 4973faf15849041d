import type { Grant } from '../../shared/domain.js';
import type { ProviderPolicy } from '../providers/provider.js';

/**
 * A refresh token's life, by its provider's policy. Its clock starts when the stored token was issued: where
 * each use renews it (Xero), that is the last rotation. Where a provider fixes the life at consent instead,
 * this is still the nearest fact Relink keeps (a provider like that would need the consent's own time on the
 * grant); the sentences say "without use" only for rolling lifetimes.
 */

const DAY = 86_400_000;

/** Days since the stored refresh token was issued. */
export function daysIdle(g: Pick<Grant, 'refreshTokenIssuedAt'>, now: number): number {
  return (now - Date.parse(g.refreshTokenIssuedAt)) / DAY;
}

/** Whole days until the stored refresh token dies if it is not used (0 when already past). */
export function daysLeft(g: Pick<Grant, 'refreshTokenIssuedAt'>, policy: Pick<ProviderPolicy, 'refreshTokenLifetimeDays'>, now: number): number {
  return Math.max(0, Math.ceil(policy.refreshTokenLifetimeDays - daysIdle(g, now)));
}

/** When the stored refresh token dies if it is not used. */
export function refreshTokenExpiresAt(g: Pick<Grant, 'refreshTokenIssuedAt'>, policy: Pick<ProviderPolicy, 'refreshTokenLifetimeDays'>): string {
  return new Date(Date.parse(g.refreshTokenIssuedAt) + policy.refreshTokenLifetimeDays * DAY).toISOString();
}
