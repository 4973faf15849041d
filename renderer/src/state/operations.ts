import type { Operation } from '../../../shared/api.js';

/** Which sign-ins in the browser concern which connections, so progress shows where the advisor pressed. */

export function isActive(op: Operation): boolean {
  return op.state === 'waiting-for-approval' || op.state === 'verifying';
}

/**
 * Whether an operation is about this connection: same app and either the organisation the advisor pressed
 * Reconnect on, or (a reconnect started for a whole sign-in, e.g. from an incident) the same staff member.
 */
export function concerns(op: Operation, appId: string, orgId: string, staffId: string | null): boolean {
  if (op.appId !== appId) return false;
  if (op.tenantId !== null) return op.tenantId === orgId;
  if (op.staffId !== null && op.staffId === staffId) return true;
  // A reconnect's report names the organisations it brought back or is still missing.
  const r = op.report;
  return !!r && (r.reconnected.some((o) => o.tenantId === orgId) || r.stillMissing.some((o) => o.tenantId === orgId));
}

/** The newest operation about this connection (operations are kept newest first). */
export function latestFor(ops: readonly Operation[], appId: string, orgId: string, staffId: string | null): Operation | null {
  for (const op of ops) if (concerns(op, appId, orgId, staffId)) return op;
  return null;
}

/** The newest running operation about this connection, for a grid cell's "Reconnecting…". */
export function activeFor(ops: readonly Operation[], appId: string, orgId: string, staffId: string | null): Operation | null {
  for (const op of ops) if (isActive(op) && concerns(op, appId, orgId, staffId)) return op;
  return null;
}

/** The newest operation started for exactly this target (a button's own progress). */
export function latestForTarget(ops: readonly Operation[], appId: string, staffId: string | null, tenantId: string | null): Operation | null {
  for (const op of ops) if (op.appId === appId && op.staffId === staffId && op.tenantId === tenantId) return op;
  return null;
}
