import { z } from 'zod';
import type { SandboxContext } from '../context.js';
import { dotNetUtc } from '../../clock.js';
import { faultSchema } from '../faults.js';
import { json, type SbOutcome, type SbRequest } from '../../http/types.js';
import { seedSchema } from '../seeds.js';
import { settingsPatchSchema, TIERS } from '../settings.js';
import { ROLES, WorldError } from '../world.js';

/**
 * The control API under `/sandbox`: how people and tests build a world, break connections the ways real
 * life does, move time, and inject faults. JSON in, JSON out; every mistake answers 4xx with `{error}`
 * saying what was wrong.
 */
export interface ControlHost {
  reset(request: z.output<typeof seedSchema>): unknown;
  updateSettings(patch: z.output<typeof settingsPatchSchema>): unknown;
}

class BadRequest extends Error {}

const orgSchema = z.object({ name: z.string().trim().min(1).max(200), tenantType: z.enum(['ORGANISATION', 'PRACTICE']).optional() }).strict();
const userSchema = z
  .object({
    email: z.email(),
    givenName: z.string().trim().min(1).max(100),
    familyName: z.string().trim().min(1).max(100),
  })
  .strict();
const roleSchema = z.object({ role: z.enum(ROLES) }).strict();
const appSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    type: z.enum(['pkce', 'web']),
    redirectUris: z.array(z.url()).min(1).max(50),
    scopes: z.array(z.string().min(1)).optional(),
    createdBy: z.string().optional(),
    tier: z.enum(TIERS).optional(),
    connectionCap: z.number().int().min(0).nullable().optional(),
    multiOrgConsent: z.boolean().optional(),
  })
  .strict();
const consentSchema = z
  .object({
    clientId: z.string().min(1),
    userId: z.string().min(1),
    tenantIds: z.array(z.string()).default([]),
    decision: z.enum(['allow', 'deny']).default('allow'),
  })
  .strict();
const clockSchema = z.object({ advanceSeconds: z.number().finite().min(0).max(10 * 365 * 86_400) }).strict();

/** Scopes a new app may request when none are given: settings, contacts, invoices and a report. */
const DEFAULT_APP_SCOPES = [
  'accounting.settings', 'accounting.settings.read', 'accounting.contacts', 'accounting.contacts.read',
  'accounting.invoices', 'accounting.invoices.read', 'accounting.reports.balancesheet.read',
];

function parse<T extends z.ZodType>(schema: T, req: SbRequest): z.output<T> {
  let raw: unknown = {};
  const text = req.body.toString('utf8').trim();
  if (text) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new BadRequest('The request body is not valid JSON.');
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new BadRequest(`Invalid request: ${issues}`);
  }
  return result.data;
}

/** A JSON snapshot of the world for people and tests. Secrets and tokens are never in it. */
export function stateSnapshot(ctx: SandboxContext) {
  const w = ctx.world;
  return {
    now: new Date(ctx.clock.now()).toISOString(),
    clockOffsetSeconds: ctx.clock.offsetSeconds,
    orgs: [...w.orgs.values()].map((o) => ({ tenantId: o.tenantId, name: o.name, tenantType: o.tenantType })),
    users: [...w.users.values()].map((u) => ({
      userId: u.userId,
      email: u.email,
      givenName: u.givenName,
      familyName: u.familyName,
      passwordChangedAt: u.passwordChangedAt === null ? null : new Date(u.passwordChangedAt).toISOString(),
      roles: Object.fromEntries(u.roles),
    })),
    apps: [...w.apps.values()].map((a) => ({
      clientId: a.clientId,
      name: a.name,
      type: a.type,
      redirectUris: a.redirectUris,
      scopes: a.scopes,
      createdBy: a.createdBy,
      tier: a.tier,
      connectionCap: w.connectionCap(a),
      connectedOrganisations: w.connectedTenants(a.clientId).size,
      multiOrgConsent: a.multiOrgConsent,
    })),
    connections: [...w.connections.values()].map((c) => ({
      id: c.id,
      clientId: c.clientId,
      userId: c.userId,
      tenantId: c.tenantId,
      authEventId: c.authEventId,
      createdDateUtc: dotNetUtc(c.createdAt),
      updatedDateUtc: dotNetUtc(c.updatedAt),
    })),
    grants: [...w.families.values()].map((f) => ({
      id: f.id,
      clientId: f.clientId,
      userId: f.userId,
      authEventId: f.authEventId,
      scopes: f.scopes,
      createdAt: new Date(f.createdAt).toISOString(),
      lastRefreshAt: f.lastRefreshAt === null ? null : new Date(f.lastRefreshAt).toISOString(),
      revokedAt: f.revokedAt === null ? null : new Date(f.revokedAt).toISOString(),
      revokedReason: f.revokedReason,
    })),
    thirdPartyConnections: w.thirdParty,
    arrangedConsents: w.arrangedCount(),
    faults: ctx.faults.list(),
    settings: ctx.settings,
  };
}

type Handler = (ctx: SandboxContext, req: SbRequest, m: string[], host: ControlHost) => SbOutcome | Promise<SbOutcome>;

const ROUTES: Array<[string, RegExp, Handler]> = [
  ['POST', /^\/sandbox\/reset$/, (_c, req, _m, host) => json(200, host.reset(parse(seedSchema, req)))],
  ['GET', /^\/sandbox\/state$/, (ctx) => json(200, stateSnapshot(ctx))],
  ['POST', /^\/sandbox\/orgs$/, (ctx, req) => {
    const body = parse(orgSchema, req);
    return json(201, { tenantId: ctx.world.addOrg(body.name, body.tenantType).tenantId });
  }],
  ['POST', /^\/sandbox\/users$/, (ctx, req) => json(201, { userId: ctx.world.addUser(parse(userSchema, req)).userId })],
  ['PUT', /^\/sandbox\/users\/([^/]+)\/orgs\/([^/]+)$/, (ctx, req, [u, t]) => {
    const { role } = parse(roleSchema, req);
    ctx.world.setRole(u!, t!, role);
    return json(200, { userId: u, tenantId: t, role });
  }],
  ['DELETE', /^\/sandbox\/users\/([^/]+)\/orgs\/([^/]+)$/, (ctx, _r, [u, t]) =>
    json(200, { connectionsRemoved: ctx.world.removeUserFromOrg(u!, t!) })],
  ['DELETE', /^\/sandbox\/users\/([^/]+)$/, (ctx, _r, [u]) => json(200, ctx.world.deleteUser(u!))],
  ['POST', /^\/sandbox\/users\/([^/]+)\/password$/, (ctx, _r, [u]) => json(200, ctx.world.changePassword(u!))],
  ['POST', /^\/sandbox\/apps$/, (ctx, req) => {
    const b = parse(appSchema, req);
    const app = ctx.world.addApp({
      name: b.name,
      type: b.type,
      redirectUris: b.redirectUris,
      scopes: b.scopes ?? DEFAULT_APP_SCOPES,
      createdBy: b.createdBy ?? null,
      tier: b.tier ?? 'starter',
      connectionCap: b.connectionCap,
      multiOrgConsent: b.multiOrgConsent ?? false,
    });
    return json(201, { clientId: app.clientId, ...(app.clientSecret ? { clientSecret: app.clientSecret } : {}) });
  }],
  ['POST', /^\/sandbox\/apps\/([^/]+)\/secret$/, (ctx, _r, [c]) => json(200, { clientSecret: ctx.world.rotateSecret(c!) })],
  ['DELETE', /^\/sandbox\/apps\/([^/]+)$/, (ctx, _r, [c]) => {
    ctx.world.deleteApp(c!);
    return json(200, { deleted: c });
  }],
  ['DELETE', /^\/sandbox\/orgs\/([^/]+)\/apps\/([^/]+)$/, (ctx, _r, [t, c]) =>
    json(200, { connectionsRemoved: ctx.world.disconnectAppInOrg(t!, c!) })],
  ['POST', /^\/sandbox\/consents$/, (ctx, req) => {
    const b = parse(consentSchema, req);
    ctx.world.arrangeConsent(b.clientId, { userId: b.userId, tenantIds: b.tenantIds, decision: b.decision });
    return json(201, { arranged: ctx.world.arrangedCount() });
  }],
  ['POST', /^\/sandbox\/clock$/, (ctx, req) => {
    ctx.clock.advance(parse(clockSchema, req).advanceSeconds);
    return json(200, { now: new Date(ctx.clock.now()).toISOString(), offsetSeconds: ctx.clock.offsetSeconds });
  }],
  ['POST', /^\/sandbox\/faults$/, (ctx, req) => {
    ctx.faults.add(parse(faultSchema, req));
    return json(201, { faults: ctx.faults.list() });
  }],
  ['GET', /^\/sandbox\/faults$/, (ctx) => json(200, { faults: ctx.faults.list() })],
  ['DELETE', /^\/sandbox\/faults$/, (ctx) => json(200, { cleared: ctx.faults.clear() })],
  ['GET', /^\/sandbox\/settings$/, (ctx) => json(200, ctx.settings)],
  ['PUT', /^\/sandbox\/settings$/, (_c, req, _m, host) => json(200, host.updateSettings(parse(settingsPatchSchema, req)))],
];

export async function controlApi(ctx: SandboxContext, req: SbRequest, host: ControlHost): Promise<SbOutcome> {
  const path = req.url.pathname;
  const matching = ROUTES.filter(([, re]) => re.test(path));
  if (matching.length === 0) return json(404, { error: `No control endpoint at ${path}.` });
  const route = matching.find(([method]) => method === req.method);
  if (!route) {
    const allowed = matching.map(([m]) => m).join(', ');
    return json(405, { error: `${req.method} is not supported on ${path}; use ${allowed}.` }, { allow: allowed });
  }
  // Web pages the user happens to visit must not drive the control API: browsers label their requests with
  // an Origin, and cannot send application/json cross-origin without a preflight the sandbox never answers.
  const origin = req.headers['origin'];
  if (origin && origin !== ctx.origin) {
    return json(403, { error: 'The control API only answers local tools, not web pages.' });
  }
  if (req.method !== 'GET' && req.body.length > 0 && !(req.headers['content-type'] ?? '').includes('application/json')) {
    return json(415, { error: 'Send the control API JSON with Content-Type: application/json.' });
  }
  const [, re, handler] = route;
  let params: string[];
  try {
    params = re.exec(path)!.slice(1).map(decodeURIComponent);
  } catch {
    return json(400, { error: `The path ${path} is not valid percent-encoding.` });
  }
  try {
    return await handler(ctx, req, params, host);
  } catch (err) {
    if (err instanceof BadRequest) return json(400, { error: err.message });
    if (err instanceof WorldError) {
      const status = err.code === 'not-found' ? 404 : err.code === 'conflict' ? 409 : 400;
      return json(status, { error: err.message });
    }
    throw err;
  }
}
