import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context.js';
import { dotNetUtc } from '../../clock.js';
import { empty, json, type SbOutcome, type SbRequest } from '../../http/types.js';
import type { Connection } from '../world.js';
import { authenticateAccessToken } from './access-token.js';
import { forbidden } from './problem.js';

/** Xero names every API response with a correlation id (xero-protocol.md §4.2, §11.6). */
const correlation = () => ({ 'xero-correlation-id': randomUUID() });

/** Xero's Connection item, field for field (shared/reference/xero-identity.yaml). */
function toXero(ctx: SandboxContext, c: Connection) {
  const org = ctx.world.org(c.tenantId);
  return {
    id: c.id,
    authEventId: c.authEventId,
    tenantId: c.tenantId,
    tenantType: org.tenantType,
    tenantName: org.name,
    createdDateUtc: dotNetUtc(c.createdAt),
    updatedDateUtc: dotNetUtc(c.updatedAt),
  };
}

/** `GET /connections[?authEventId=]`: every organisation this user has connected to this app. */
export async function listConnections(ctx: SandboxContext, req: SbRequest): Promise<SbOutcome> {
  const auth = await authenticateAccessToken(ctx, req);
  if (!auth.ok) return auth.outcome;
  const authEventId = req.url.searchParams.get('authEventId');
  const list = ctx.world
    .connectionsOf(auth.family.userId, auth.family.clientId)
    .filter((c) => !authEventId || c.authEventId.toLowerCase() === authEventId.toLowerCase())
    .map((c) => toXero(ctx, c));
  return json(200, list, { 'content-type': 'application/json', ...correlation() });
}

/**
 * `DELETE /connections/{id}`: `{id}` is the connection id — not a tenantId or authEventId, a mistake real
 * clients make. Given an organisation's tenantId Xero answers 403 (xero-node#403, Xero-NetStandard PR #641:
 * the SDKs' own users met it that way), so does this; someone else's connection answers 403 too, and any other
 * unknown id 404.
 */
export async function deleteConnection(ctx: SandboxContext, req: SbRequest, id: string): Promise<SbOutcome> {
  const auth = await authenticateAccessToken(ctx, req);
  if (!auth.ok) return auth.outcome;
  const connection = ctx.world.connections.get(id);
  if (!connection) return ctx.world.orgs.has(id) ? forbidden() : empty(404, correlation());
  if (connection.userId !== auth.family.userId || connection.clientId !== auth.family.clientId) return forbidden();
  ctx.world.deleteConnection(id);
  return empty(204, correlation());
}
