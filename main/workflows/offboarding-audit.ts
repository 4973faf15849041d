import type { App, Connection, StaffMember } from '../../shared/domain.js';
import type { AuditReport, Offboarding, OffboardingMove, StaffRef } from '../../shared/workflows.js';
import { HEALTH_LABELS } from '../../shared/plain-words.js';
import { authorisedByStaff, trackedHealth } from './tracked-health.js';
import type { Provider } from '../providers/provider.js';
import {
  actorWords,
  appName,
  appProvider,
  byName,
  currentConnections,
  day,
  listNames,
  namesStaff,
  orgName,
  plural,
  staffName,
  staffRef,
  UNVERIFIED,
  type WorkflowWorld,
} from './world.js';

/**
 * The staff offboarding audit (DESIGN.md §5.4): everything that depends on one person, the plan to move it to
 * another advisor, progress, and the verdict.
 *
 * Dependencies:
 * - every connection reached through a grant they authorised (per app, per organisation, with its health);
 * - every app recorded as created by them in its provider's developer portal, where deleting their login deletes
 *   it (`policy.appDeletedWithCreator`; elsewhere an app outlives its creator and nothing depends on them);
 * - every tracked third-party connection they authorised.
 *
 * When is a connection moved? When the same app reaches the same organisation through a working grant of the
 * chosen advisor (the target). Before a target is chosen, any other active staff member's working grant counts
 * — nothing depends on the leaver then. After it is chosen, only the target's does: a reconnect someone else
 * approved is reported with a warning and not counted, because the firm decided who takes over. A tracked
 * connection is moved when it was authorised again by someone else (its new authoriser is recorded).
 *
 * An app they created counts as moved only when Relink has verified it: a replacement app (not created by them)
 * was chosen and every organisation the app reached is reached through the replacement by a working sign-in of
 * someone else — or the app is no longer recorded as theirs. An advisor's statement that the provider transferred
 * the app (Relink cannot see its developer portal) is accepted only as an explicit override, named, dated and with
 * what they said, and it stays marked as an override everywhere the audit goes (window, CSV, PDF). A connection
 * of the app is also moved when the replacement reaches its organisation: it would not survive the app anyway.
 *
 * The verdict is "safe-to-remove" only when no dependency remains and none was overridden; "safe-by-override"
 * when the only ones left were resolved on an advisor's word; otherwise "not-safe", with one reason per
 * remaining dependency.
 */

/** "recorded by Alex Reid (alex) in Relink"; records from before people were recorded name the host only. */
function recorded(by: 'advisor' | 'cli', person: string | undefined): string {
  if (by === 'cli') return person ? `recorded by ${person} with the relink command` : 'recorded with the relink command';
  return `recorded by ${person ?? 'an advisor'} in Relink`;
}

/** Whether the leaver's record as an app's creator makes the app depend on them (its provider deletes it with them). */
export function goesWithCreator(world: Pick<WorkflowWorld, 'apps' | 'providerOf'>, app: App): boolean {
  return appProvider(world, app.id).policy.appDeletedWithCreator;
}

/** `provider`: the app's (only asked about apps whose provider deletes them with their creator). */
export function appGuidance(app: App, s: StaffMember, orgCount: number, provider: Pick<Provider, 'terms'>): string {
  const who = s.name || s.email || s.id;
  const { terms } = provider;
  return (
    `${who} created ${app.name} in ${terms.developerPortal}. Deleting ${who}'s ${terms.name} user deletes the app, and every ` +
    `organisation connected through it (${orgCount}) loses it at once. Before removing ${who}, either have the app moved ` +
    `to a developer login the firm owns (ask ${terms.name} whether it can be transferred), or create a replacement app under a ` +
    `firm login, add it to Relink and reconnect its organisations. Then mark this done.`
  );
}

/** A connection that works for someone still at the firm (present, its sign-in accepted, its person active). */
function worksForOthers(o: Connection, world: WorkflowWorld, leaverId: string): boolean {
  return o.staffId !== leaverId && o.present && world.grants[o.grantId]?.state === 'active' && world.staff[o.staffId]?.status === 'active';
}

/**
 * The working connection that covers (app, organisation) for someone other than the leaver, if any: through the
 * same app, or through the replacement chosen for it.
 */
function coverFor(
  c: Connection,
  world: WorkflowWorld,
  leaverId: string,
  targetId: string | null,
  replacementOf: ReadonlyMap<string, string>,
): { counted: Connection | null; other: Connection | null } {
  const replacement = replacementOf.get(c.appId);
  const candidates = Object.values(world.connections).filter(
    (o) => (o.appId === c.appId || o.appId === replacement) && o.tenantId === c.tenantId && worksForOthers(o, world, leaverId),
  );
  if (targetId === null) return { counted: candidates.sort(byName((o) => staffName(world, o.staffId)))[0] ?? null, other: null };
  return { counted: candidates.find((o) => o.staffId === targetId) ?? null, other: candidates.find((o) => o.staffId !== targetId) ?? null };
}

function latestMove(off: Offboarding | undefined, match: (m: OffboardingMove) => boolean): OffboardingMove | undefined {
  // Stable: moves recorded in the same millisecond keep the order they were appended in.
  return off?.moves.filter(match).at(-1);
}

/** The latest resolution recorded for an app the leaver created (none once it was withdrawn). */
export function appResolution(off: Offboarding | undefined, appId: string): OffboardingMove | undefined {
  const m = latestMove(off, (x) => x.kind === 'app' && x.appId === appId);
  return m && m.how !== 'withdrawn' ? m : undefined;
}

/** Organisations an app reaches now (any person's connection its provider listed). */
function tenantsOf(world: WorkflowWorld, appId: string): string[] {
  return [...new Set(Object.values(world.connections).filter((c) => c.appId === appId && c.present).map((c) => c.tenantId))];
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
  // Apps they created and the replacement chosen for each (a connection reached through it is moved too).
  // Only apps whose provider deletes them with their creator depend on the leaver.
  const appIds = new Set(Object.values(world.apps).filter((a) => namesStaff(a.createdBy, s) && goesWithCreator(world, a)).map((a) => a.id));
  for (const m of off?.moves ?? []) if (m.kind === 'app' && m.appId && world.apps[m.appId] && goesWithCreator(world, world.apps[m.appId]!)) appIds.add(m.appId);
  const replacementOf = new Map<string, string>();
  for (const id of appIds) {
    const r = appResolution(off, id);
    if (r?.how === 'recreated' && r.replacementAppId && world.apps[r.replacementAppId]) replacementOf.set(id, r.replacementAppId);
  }
  const theirs = currentConnections(world.connections)
    .filter((c) => grantIds.has(c.grantId))
    .sort((a, b) => appName(world, a.appId).localeCompare(appName(world, b.appId)) || orgName(world, a.tenantId).localeCompare(orgName(world, b.tenantId)));
  const connections: AuditReport['connections'] = theirs.map((c) => {
    const h = world.health.connections[c.id] ?? UNVERIFIED;
    const cover = coverFor(c, world, staffId, targetId, replacementOf);
    const moved = cover.counted;
    const record = moved ? latestMove(off, (m) => m.kind === 'connection' && m.appId === c.appId && m.tenantId === c.tenantId && m.toStaffId === moved.staffId) : undefined;
    const movedToName = moved ? staffName(world, moved.staffId) : null;
    const through = moved && moved.appId !== c.appId ? ` through ${appName(world, moved.appId)}, the replacement app` : '';
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
      movedBy: moved
        ? record
          ? `${movedToName} approved in ${appProvider(world, moved.appId).terms.name}${through} (${recorded(record.by, record.person)})`
          : `${movedToName} already had it connected${through}`
        : null,
      movedAt: record?.at ?? null,
      note,
    };
  });

  // ── apps they created ──
  const appsCreated: AuditReport['appsCreated'] = [...appIds]
    .map((id) => world.apps[id]!)
    .sort(byName((a) => a.name))
    .map((app) => {
      const reached = tenantsOf(world, app.id);
      const record = appResolution(off, app.id);
      const stillTheirs = namesStaff(app.createdBy, s);
      const candidates = Object.values(world.apps)
        .filter((a) => a.id !== app.id && !appIds.has(a.id) && !(namesStaff(a.createdBy, s) && goesWithCreator(world, a)))
        .sort(byName((a) => a.name))
        .map((a) => ({ appId: a.id, appName: a.name }));
      const base = {
        appId: app.id,
        appName: app.name,
        organisations: reached.length,
        guidance: appGuidance(app, s, reached.length, appProvider(world, app.id)),
        replacementCandidates: candidates,
        note: record?.note ?? null,
      };
      const replacementId = replacementOf.get(app.id);
      if (record && replacementId) {
        const r = world.apps[replacementId]!;
        const toCover = [...new Set([...reached, ...(record.tenantIds ?? [])])].sort((a, b) => orgName(world, a).localeCompare(orgName(world, b)));
        const orgs = toCover.map((t) => ({
          tenantId: t,
          name: orgName(world, t),
          reached: Object.values(world.connections).some((c) => c.appId === r.id && c.tenantId === t && worksForOthers(c, world, staffId)),
        }));
        const verified = orgs.every((o) => o.reached);
        return {
          ...base,
          how: 'recreated' as const,
          state: verified ? ('moved' as const) : ('depends' as const),
          // The replacement is a different app: what moved is to whoever created it (when Relink knows).
          movedTo: r.createdBy ? refOf(world, findStaffId(world, r.createdBy) ?? r.createdBy) : null,
          movedBy: verified
            ? `Replaced by ${r.name}: Relink checked that ${orgs.length === 1 ? 'its organisation is' : `all ${orgs.length} of its organisations are`} reached through it (chosen by ${actorWords(record.by, record.person)})`
            : null,
          movedAt: verified ? record.at : null,
          replacement: { appId: r.id, appName: r.name, createdBy: r.createdBy, organisations: orgs },
          override: null,
        };
      }
      if (record && (record.how === 'transferred' || record.how === 'recreated')) {
        // A transfer (or a "recreated" recorded before a replacement had to be named): the advisor's word.
        const by = actorWords(record.by, record.person);
        const owner = record.newOwner ? staffName(world, record.newOwner) : record.toStaffId ? staffName(world, record.toStaffId) : null;
        // Only a transfer names the login the app now belongs to; a recreated app is a different one.
        const newOwner = record.how === 'transferred' ? owner : null;
        return {
          ...base,
          how: record.how,
          state: 'overridden' as const,
          movedTo: record.newOwner ? refOf(world, findStaffId(world, record.newOwner) ?? record.newOwner) : refOf(world, record.toStaffId),
          movedBy: `Override by ${by}: marked ${record.how}${newOwner ? ` to ${newOwner}` : ''}; not verified by Relink`,
          movedAt: record.at,
          replacement: null,
          override: { at: record.at, by, reason: record.note ?? 'No reason was recorded.', newOwner },
        };
      }
      return {
        ...base,
        how: null,
        // No longer recorded as theirs (and nothing recorded about it here): nothing of theirs to lose.
        state: stillTheirs ? ('depends' as const) : ('moved' as const),
        movedTo: null,
        movedBy: stillTheirs ? null : `Relink's record of ${app.name} no longer names ${who} as its creator`,
        movedAt: null,
        replacement: null,
        override: null,
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
        movedBy: move ? `${staffName(world, move.toStaffId)} authorised it again (${recorded(move.by, move.person)})` : null,
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
    // One consent for them all only where the app and its provider connect many organisations at once.
    if (app?.multiOrgConsent && appProvider(world, appId).policy.consent === 'many-organisations') {
      plan.push({ kind: 'reconnect', appId, tenantIds: tenants, trackedId: null, reconnectUrl: null, text: `Reconnect ${appName(world, appId)} as ${asWhom}, ticking ${listNames(names, 5)}.` });
    } else {
      for (const t of tenants) {
        plan.push({ kind: 'reconnect', appId, tenantIds: [t], trackedId: null, reconnectUrl: null, text: `Reconnect ${appName(world, appId)} as ${asWhom} for ${orgName(world, t)}.` });
      }
    }
  }
  for (const a of appsCreated) {
    if (a.state !== 'depends') continue;
    const missing = a.replacement?.organisations.filter((o) => !o.reached) ?? [];
    plan.push({
      kind: 'app',
      appId: a.appId,
      tenantIds: missing.map((o) => o.tenantId),
      trackedId: null,
      reconnectUrl: null,
      text: a.replacement
        ? `Connect ${a.replacement.appName} (the replacement for ${a.appName}) for ${listNames(missing.map((o) => o.name), 5)}, as ${asWhom}.`
        : a.guidance,
    });
  }
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
    reasons.push(`${c.appName} in ${c.organisation} still depends on ${who}'s approval (${HEALTH_LABELS[c.health]}).${c.note ? ` ${c.note}` : ''}`);
  }
  const overrides: string[] = [];
  for (const a of appsCreated) {
    // Every app listed here is deleted with its creator (see `goesWithCreator`).
    const { terms } = appProvider(world, a.appId);
    if (a.state === 'overridden' && a.override) {
      overrides.push(
        `${a.appName}: ${who} created it in ${terms.developerPortal}. ${a.override.by} marked it ${a.how ?? 'done'}${a.override.newOwner ? ` to ${a.override.newOwner}` : ''} on ${day(a.override.at)} ("${a.override.reason}"). ` +
          `Relink cannot see ${terms.developerPortal}, so this rests on their word: if the app is still ${who}'s, deleting their ${terms.name} user deletes it and cuts off ${plural(a.organisations, 'organisation')}.`,
      );
    }
    if (a.state !== 'depends') continue;
    const missing = a.replacement?.organisations.filter((o) => !o.reached) ?? [];
    reasons.push(
      a.replacement
        ? `${who} created ${a.appName} in ${terms.developerPortal}. Its replacement ${a.replacement.appName} does not reach ${plural(missing.length, 'organisation')} of ${a.replacement.organisations.length} yet (${listNames(missing.map((o) => o.name), 5)}): connect ${a.replacement.appName} for ${missing.length === 1 ? 'it' : 'them'} first.`
        : `${who} created ${a.appName} in ${terms.developerPortal}: deleting their ${terms.name} user deletes it (${plural(a.organisations, 'organisation')}).`,
    );
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
    progress: { total, moved: total - remaining - overrides.length, overridden: overrides.length, remaining },
    warnings: (off?.warnings ?? []).map((w) => ({
      at: w.at,
      message: w.message,
      unplanned:
        w.kind === 'unplanned' && w.appId
          ? Object.values(world.connections)
              .filter((c) => c.appId === w.appId && w.tenantIds.includes(c.tenantId) && c.present && (!w.approvedBy || c.staffId === w.approvedBy.id))
              .map((c) => ({ connectionId: c.id, appId: c.appId, appName: appName(world, c.appId), tenantId: c.tenantId, organisation: orgName(world, c.tenantId) }))
          : [],
    })),
    verdict: remaining > 0 ? 'not-safe' : overrides.length > 0 ? 'safe-by-override' : 'safe-to-remove',
    reasons,
    overrides,
  };
}

/** The organisations of `appId` that still depend on the leaver (what a move consent must tick). */
export function remainingOrgs(audit: AuditReport, appId: string): string[] {
  return audit.connections.filter((c) => c.appId === appId && c.state === 'depends').map((c) => c.tenantId);
}

export function auditSummary(audit: AuditReport): string {
  const who = audit.staff.name || audit.staff.email;
  if (audit.verdict === 'safe-to-remove') return `Nothing depends on ${who} any more: safe to remove (${day(audit.generatedAt)}).`;
  if (audit.verdict === 'safe-by-override') {
    return `Safe to remove only on an advisor's word: ${plural(audit.progress.overridden, 'dependency', 'dependencies')} on ${who} ${audit.progress.overridden === 1 ? 'was' : 'were'} overridden, not verified by Relink (${day(audit.generatedAt)}).`;
  }
  return `${plural(audit.progress.remaining, 'dependency', 'dependencies')} on ${who} remain${audit.progress.remaining === 1 ? 's' : ''}: not safe to remove yet.`;
}

/** A staff id for a login recorded by email or id, if Relink knows the person. */
function findStaffId(world: WorkflowWorld, ref: string): string | null {
  const wanted = ref.trim().toLowerCase();
  return Object.values(world.staff).find((x) => x.id === ref || (x.email !== '' && x.email.toLowerCase() === wanted))?.id ?? null;
}
