import type { App, Connection, StaffMember } from '../../shared/domain.js';
import type { AuditReport, Offboarding, OffboardingMove, StaffRef } from '../../shared/workflows.js';
import { authorisedByStaff, trackedHealth } from './tracked-health.js';
import { appName, byName, currentConnections, day, listNames, namesStaff, orgName, plural, staffName, staffRef, UNVERIFIED, type WorkflowWorld } from './world.js';

/**
 * The staff offboarding audit (DESIGN.md §5.4): everything that depends on one person, the plan to move it to
 * another advisor, progress, and the verdict.
 *
 * Dependencies:
 * - every connection reached through a grant they authorised (per app, per organisation, with its health);
 * - every app recorded as created by them in Xero's developer portal (deleting their Xero user deletes it);
 * - every tracked third-party connection they authorised.
 *
 * When is a connection moved? When the same app reaches the same organisation through a working grant of the
 * chosen advisor (the target). Before a target is chosen, any other active staff member's working grant counts
 * — nothing depends on the leaver then. After it is chosen, only the target's does: a reconnect someone else
 * approved is reported with a warning and not counted, because the firm decided who takes over. An app they
 * created is moved when an advisor records that it was transferred or recreated; a tracked connection when it
 * was authorised again by someone else (its new authoriser is recorded).
 *
 * The verdict is "safe-to-remove" only when no dependency remains; otherwise "not-safe", with one reason per
 * remaining dependency.
 */

const actorWords = (by: 'advisor' | 'cli') => (by === 'cli' ? 'recorded with the relink command' : 'recorded by an advisor in Relink');

export function appGuidance(app: App, s: StaffMember, orgCount: number): string {
  const who = s.name || s.email || s.id;
  return (
    `${who} created ${app.name} in Xero's developer portal. Deleting ${who}'s Xero user deletes the app, and every ` +
    `organisation connected through it (${orgCount}) loses it at once. Before removing ${who}, either have the app moved ` +
    `to a developer login the firm owns (ask Xero whether it can be transferred), or create a replacement app under a ` +
    `firm login, add it to Relink and reconnect its organisations. Then mark this done.`
  );
}

/** The working connection that covers (app, organisation) for someone other than the leaver, if any. */
function coverFor(
  c: Connection,
  world: WorkflowWorld,
  leaverId: string,
  targetId: string | null,
): { counted: Connection | null; other: Connection | null } {
  const candidates = Object.values(world.connections).filter(
    (o) =>
      o.appId === c.appId &&
      o.tenantId === c.tenantId &&
      o.staffId !== leaverId &&
      o.present &&
      world.grants[o.grantId]?.state === 'active' &&
      world.staff[o.staffId]?.status === 'active',
  );
  if (targetId === null) return { counted: candidates.sort(byName((o) => staffName(world, o.staffId)))[0] ?? null, other: null };
  return { counted: candidates.find((o) => o.staffId === targetId) ?? null, other: candidates.find((o) => o.staffId !== targetId) ?? null };
}

function latestMove(off: Offboarding | undefined, match: (m: OffboardingMove) => boolean): OffboardingMove | undefined {
  return off?.moves.filter(match).sort((a, b) => a.at.localeCompare(b.at)).at(-1);
}

function refOf(world: WorkflowWorld, staffId: string | null): StaffRef | null {
  if (!staffId) return null;
  const s = world.staff[staffId];
  return s ? staffRef(s) : { id: staffId, email: '', name: staffId };
}

export function auditStaff(world: WorkflowWorld, staffId: string): AuditReport {
  const s = world.staff[staffId];
  if (!s) throw new Error(`No staff member ${staffId}.`);
  const who = s.name || s.email || s.id;
  const off = world.offboardings[staffId];
  const targetId = off?.targetStaffId && world.staff[off.targetStaffId] ? off.targetStaffId : null;
  const target = targetId ? world.staff[targetId]! : null;
  const targetName = target ? target.name || target.email : null;

  // ── connections through their grants ──
  const grants = Object.values(world.grants).filter((g) => g.staffId === staffId);
  const grantIds = new Set(grants.map((g) => g.id));
  const theirs = currentConnections(world.connections)
    .filter((c) => grantIds.has(c.grantId))
    .sort((a, b) => appName(world, a.appId).localeCompare(appName(world, b.appId)) || orgName(world, a.tenantId).localeCompare(orgName(world, b.tenantId)));
  const connections: AuditReport['connections'] = theirs.map((c) => {
    const h = world.health.connections[c.id] ?? UNVERIFIED;
    const cover = coverFor(c, world, staffId, targetId);
    const moved = cover.counted;
    const record = moved ? latestMove(off, (m) => m.kind === 'connection' && m.appId === c.appId && m.tenantId === c.tenantId && m.toStaffId === moved.staffId) : undefined;
    const movedToName = moved ? staffName(world, moved.staffId) : null;
    const note =
      !moved && cover.other
        ? `Reached through ${staffName(world, cover.other.staffId)}'s approval, not ${targetName}'s (the advisor chosen to take over): reconnect as ${targetName}, or choose ${staffName(world, cover.other.staffId)} instead.`
        : null;
    return {
      connectionId: c.id,
      appId: c.appId,
      appName: appName(world, c.appId),
      tenantId: c.tenantId,
      organisation: orgName(world, c.tenantId),
      health: h.health,
      cause: h.cause,
      state: moved ? 'moved' : 'depends',
      movedTo: moved ? refOf(world, moved.staffId) : null,
      movedBy: moved ? (record ? `${movedToName} approved in Xero (${actorWords(record.by)})` : `${movedToName} already had it connected`) : null,
      movedAt: record?.at ?? null,
      note,
    };
  });

  // ── apps they created ──
  const appIds = new Set(Object.values(world.apps).filter((a) => namesStaff(a.createdBy, s)).map((a) => a.id));
  for (const m of off?.moves ?? []) if (m.kind === 'app' && m.appId && world.apps[m.appId]) appIds.add(m.appId);
  const appsCreated: AuditReport['appsCreated'] = [...appIds]
    .map((id) => world.apps[id]!)
    .sort(byName((a) => a.name))
    .map((app) => {
      const orgs = new Set(Object.values(world.connections).filter((c) => c.appId === app.id && c.present).map((c) => c.tenantId)).size;
      const record = latestMove(off, (m) => m.kind === 'app' && m.appId === app.id);
      return {
        appId: app.id,
        appName: app.name,
        organisations: orgs,
        guidance: appGuidance(app, s, orgs),
        how: record && (record.how === 'transferred' || record.how === 'recreated') ? record.how : null,
        state: record ? 'moved' : 'depends',
        movedTo: record ? refOf(world, record.toStaffId) : null,
        movedBy: record ? actorWords(record.by) : null,
        movedAt: record?.at ?? null,
        note: record?.note ?? null,
      };
    });

  // ── tracked connections they authorised (and those moved away from them) ──
  const trackedList = Object.values(world.tracked).filter(
    (t) => authorisedByStaff(t, world, staffId) || t.history.some((h) => h.action === 'moved' && h.fromStaffId === staffId),
  );
  const tracked: AuditReport['tracked'] = trackedList
    .sort((a, b) => orgName(world, a.tenantId).localeCompare(orgName(world, b.tenantId)) || a.app.localeCompare(b.app))
    .map((t) => {
      const stillTheirs = authorisedByStaff(t, world, staffId);
      const move = stillTheirs ? undefined : t.history.filter((h) => h.action === 'moved' && h.fromStaffId === staffId).at(-1);
      return {
        id: t.id,
        tenantId: t.tenantId,
        organisation: orgName(world, t.tenantId),
        app: t.app,
        reconnectUrl: t.reconnectUrl,
        health: trackedHealth(t, world).state,
        state: stillTheirs ? 'depends' : 'moved',
        movedTo: move ? refOf(world, move.toStaffId) : null,
        movedBy: move ? `${staffName(world, move.toStaffId)} authorised it again (${actorWords(move.by)})` : null,
        movedAt: move?.at ?? null,
      };
    });

  // ── what is left to do ──
  const plan: AuditReport['plan'] = [];
  const asWhom = targetName ?? 'the advisor who takes over (choose one first)';
  const remainingByApp = new Map<string, string[]>();
  for (const c of connections) if (c.state === 'depends') remainingByApp.set(c.appId, [...(remainingByApp.get(c.appId) ?? []), c.tenantId]);
  for (const [appId, tenants] of remainingByApp) {
    const app = world.apps[appId];
    const names = tenants.map((t) => orgName(world, t));
    if (app?.multiOrgConsent) {
      plan.push({ kind: 'reconnect', appId, tenantIds: tenants, trackedId: null, reconnectUrl: null, text: `Reconnect ${appName(world, appId)} as ${asWhom}, ticking ${listNames(names, 5)}.` });
    } else {
      for (const t of tenants) {
        plan.push({ kind: 'reconnect', appId, tenantIds: [t], trackedId: null, reconnectUrl: null, text: `Reconnect ${appName(world, appId)} as ${asWhom} for ${orgName(world, t)}.` });
      }
    }
  }
  for (const a of appsCreated) if (a.state === 'depends') plan.push({ kind: 'app', appId: a.appId, tenantIds: [], trackedId: null, reconnectUrl: null, text: a.guidance });
  for (const t of tracked) {
    if (t.state !== 'depends') continue;
    plan.push({
      kind: 'tracked',
      appId: null,
      tenantIds: [t.tenantId],
      trackedId: t.id,
      reconnectUrl: t.reconnectUrl,
      text: `Have ${asWhom} authorise ${t.app} for ${t.organisation} in ${t.app}'s own settings${t.reconnectUrl ? ` (${t.reconnectUrl})` : ''}, then record the move.`,
    });
  }

  const grantOf = new Map(theirs.map((c) => [c.id, c.grantId] as const));

  // ── verdict ──
  const reasons: string[] = [];
  for (const c of connections) {
    if (c.state === 'moved') continue;
    reasons.push(`${c.appName} in ${c.organisation} still depends on ${who}'s approval (${c.health}).${c.note ? ` ${c.note}` : ''}`);
  }
  for (const a of appsCreated) {
    if (a.state === 'moved') continue;
    reasons.push(`${who} created ${a.appName} in Xero's developer portal: deleting their Xero user deletes it (${plural(a.organisations, 'organisation')}).`);
  }
  for (const t of tracked) if (t.state === 'depends') reasons.push(`${t.app} in ${t.organisation} was authorised by ${who}.`);
  const total = connections.length + appsCreated.length + tracked.length;
  const remaining = reasons.length;

  return {
    generatedAt: new Date(world.now).toISOString(),
    firmName: world.settings.firmName,
    staff: { ...staffRef(s), status: s.status },
    target: target ? { ...staffRef(target), status: target.status } : null,
    grants: grants
      .map((g) => {
        const mine = connections.filter((c) => grantOf.get(c.connectionId) === g.id);
        const h = world.health.grants[g.id];
        return {
          grantId: g.id,
          appId: g.appId,
          appName: appName(world, g.appId),
          health: h?.health ?? 'unverified',
          cause: h?.cause ?? null,
          organisations: mine.length,
          moved: mine.filter((c) => c.state === 'moved').length,
        };
      })
      .sort(byName((g) => g.appName)),
    connections,
    appsCreated,
    tracked,
    plan,
    progress: { total, moved: total - remaining, remaining },
    warnings: (off?.warnings ?? []).map((w) => ({ at: w.at, message: w.message })),
    verdict: remaining === 0 ? 'safe-to-remove' : 'not-safe',
    reasons,
  };
}

/** The organisations of `appId` that still depend on the leaver (what a move consent must tick). */
export function remainingOrgs(audit: AuditReport, appId: string): string[] {
  return audit.connections.filter((c) => c.appId === appId && c.state === 'depends').map((c) => c.tenantId);
}

export function auditSummary(audit: AuditReport): string {
  const who = audit.staff.name || audit.staff.email;
  return audit.verdict === 'safe-to-remove'
    ? `Nothing depends on ${who} any more: safe to remove (${day(audit.generatedAt)}).`
    : `${plural(audit.progress.remaining, 'dependency', 'dependencies')} on ${who} remain${audit.progress.remaining === 1 ? 's' : ''}: not safe to remove yet.`;
}
