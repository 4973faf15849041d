import type { Grant } from '../../shared/domain.js';

/** When the store tests' records were made: a fixed moment, so documents compare exactly. */
export const RECORDED_AT = '2026-03-01T09:00:00.000Z';

/** One active grant record as the metadata document holds it (no secret in it: those live in the vault). */
export function grantRecord(id: string, extra: Partial<Grant> = {}): Grant {
  return {
    id,
    appId: 'app-sync',
    staffId: 'staff-jane',
    scopes: ['offline_access', 'accounting.settings'],
    authEventIds: ['ae-1'],
    connectedAt: RECORDED_AT,
    refreshTokenIssuedAt: RECORDED_AT,
    lastRefreshAt: null,
    lastProbeAt: null,
    consecutiveFailures: 0,
    lastFailure: null,
    state: 'active',
    stateSince: RECORDED_AT,
    ...extra,
  };
}
