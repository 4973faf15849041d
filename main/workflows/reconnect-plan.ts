import { BROKEN_HEALTH, type Connection, type Grant, type StaffMember } from '../../shared/domain.js';
import type { PasswordChange, PasswordChangePreview, PlanConsent, PlanTracked, PlanTrigger, ReconnectPlan } from '../../shared/workflows.js';
import { trackedView } from './tracked-health.js';
import {
  activeDeclarations,
  actorWords,
  appName,
  appProvider,
  byName,
  currentConnections,
  day,
  listNames,
  orgName,
  plural,
  staffName,
  staffProvider,
  staffRef,
  UNVERIFIED,
  type ProviderFacts,
  type WorkflowWorld,
} from './world.js';

/**
 * The bulk reconnect plan (DESIGN.md §5.3): which consents bring back every broken connection, and the
 * checklist of third-party apps to reconnect in their own settings.
 *
 * What goes in: for each staff member in scope,
 * - every connection of a grant its provider refused (`revoked`): a reconnect as the same person brings it back;
 * - every connection of a grant covered by a declared password change that has not worked since (no
 *   successful refresh or reconnect after the declaration), when its provider's password change ends every
 *   grant (`policy.passwordChangeRevokesGrants`): the advisor knows before Relink has tried;
 * - a connection missing from an otherwise working grant (an organisation's admin disconnected the app, or it
 *   was not ticked last time): a reconnect ticking that organisation brings it back.
 * What stays out, with a note saying what to do instead: grants whose app credentials the provider rejects (no consent
 * can fix that), people marked leaving or removed (move their connections: the offboarding audit), and
 * organisations the person lost access to or that another approval took over.
 *
 * Grouping: by (app, staff member), and what one consent connects is the provider's `policy.consent`.
 * With 'many-organisations' (Xero's rules, xero-protocol.md §6), an app with multi-organisation consent needs
 * ONE consent per group, whatever the number of organisations. Any other app offers a single choice on the
 * consent page, so the plan asks for one consent per organisation: a refused grant may have taken its
 * connections with it (a revocation removes them all), and then each needs its own. Such a provider keeps a
 * person's earlier connections when they approve again, though, and one token reaches all of them (§6, both
 * confirmed): where it still holds some, one approval brings those back together and the run skips the
 * approvals no longer needed. Relink cannot read `/connections` through a refused sign-in, so the plan's count
 * is the one that always works, and `fewestConsents` with `countNote` say how few it may turn out to be.
 * With 'one-organisation', every consent connects exactly one organisation and brings back nothing else: one
 * consent per organisation, and that is also the fewest.
 */

export interface PlanFilter {
  /** Only this staff member's connections (and the tracked apps they authorised). */
  staffId?: string;
}

/** Causes a reconnect as the same person cannot fix. */
const NOT_BY_RECONNECT = new Set(['staff-removed', 'token-replaced', 'role-restricted']);

/**
 * The latest declared (and not withdrawn) password change this grant has not been used successfully since, if
 * any: only for a provider whose password change ends every grant (otherwise a declaration breaks nothing).
 */
export function declaredBreak(g: Grant, world: Pick<WorkflowWorld, 'passwordChanges'> & ProviderFacts): string | null {
  if (g.state !== 'active') return null;
  if (!appProvider(world, g.appId).policy.passwordChangeRevokesGrants) return null;
  const lastGood = g.lastRefreshAt ?? g.connectedAt;
  let latest: string | null = null;
  for (const d of activeDeclarations(world)) {
    if (d.staffId === g.staffId && d.declaredAt > lastGood && (latest === null || d.declaredAt > latest)) latest = d.declaredAt;
  }
  return latest;
}

export function planReconnect(world: WorkflowWorld, filter: PlanFilter = {}): ReconnectPlan {
  const inScope = (staffId: string) => !filter.staffId || filter.staffId === staffId;
  const connectionsOf = new Map<string, Connection[]>();
  for (const c of currentConnections(world.connections)) connectionsOf.set(c.grantId, [...(connectionsOf.get(c.grantId) ?? []), c]);

  const notes: string[] = [];
  const rejectedApps = new Set<string>();
  const leavingStaff = new Map<string, number>();
  const lostAccess = new Map<string, Set<string>>();
  /** (appId, staffId) → tenantId → the connection to bring back. */
  const groups = new Map<string, { appId: string; staffId: string; byTenant: Map<string, Connection> }>();

  const grants = Object.values(world.grants).filter((g) => inScope(g.staffId) && world.apps[g.appId]);
  for (const g of grants) {
    const conns = connectionsOf.get(g.id) ?? [];
    const person = world.staff[g.staffId];
    const broken = (c: Connection) => {
      const h = world.health.connections[c.id] ?? UNVERIFIED;
      return h.health === 'needs-reconnect' || h.health === 'disconnected';
    };
    const wholeGrant = g.state === 'revoked' || declaredBreak(g, world) !== null;
    let wanted: Connection[];
    if (g.state === 'app-rejected') {
      if (conns.length) rejectedApps.add(g.appId);
      continue;
    } else if (wholeGrant) {
      wanted = conns;
    } else {
      wanted = [];
      for (const c of conns.filter(broken)) {
        const cause = (world.health.connections[c.id] ?? UNVERIFIED).cause;
        if (cause && NOT_BY_RECONNECT.has(cause)) {
          const set = lostAccess.get(g.staffId) ?? new Set<string>();
          set.add(c.tenantId);
          lostAccess.set(g.staffId, set);
        } else {
          wanted.push(c);
        }
      }
    }
    if (wanted.length === 0) continue;
    if (person && person.status !== 'active') {
      leavingStaff.set(g.staffId, (leavingStaff.get(g.staffId) ?? 0) + wanted.length);
      continue;
    }
    const key = `${g.appId}\u0000${g.staffId}`;
    const group = groups.get(key) ?? { appId: g.appId, staffId: g.staffId, byTenant: new Map<string, Connection>() };
    for (const c of wanted) if (!group.byTenant.has(c.tenantId)) group.byTenant.set(c.tenantId, c);
    groups.set(key, group);
  }

  const consents: PlanConsent[] = [];
  /** The fewest approvals the plan could take, if each provider still holds every connection Relink last saw. */
  let fewest = 0;
  const mayTakeFewer: string[] = [];
  /** The providers of those groups, for the count note (today only ever one). */
  const holders = new Set<string>();
  for (const group of groups.values()) {
    const app = world.apps[group.appId]!;
    const provider = appProvider(world, app.id);
    const manyOrganisations = provider.policy.consent === 'many-organisations';
    const person = world.staff[group.staffId];
    const who = staffName(world, group.staffId);
    const email = person?.email ?? '';
    const orgs = [...group.byTenant.values()]
      .map((c) => {
        const h = world.health.connections[c.id] ?? UNVERIFIED;
        return { tenantId: c.tenantId, name: orgName(world, c.tenantId), health: h.health, cause: h.cause, listed: c.present };
      })
      .sort(byName((o) => o.name));
    // Multi-organisation consent is only possible where one consent can connect many organisations.
    const multiOrgConsent = app.multiOrgConsent && manyOrganisations;
    const base = { appId: app.id, appName: app.name, staffId: group.staffId, staffName: who, staffEmail: email, multiOrgConsent };
    const signIn = `Sign in to ${provider.terms.name} as ${who}${email ? ` (${email})` : ''}`;
    const view = (o: (typeof orgs)[number]) => ({ tenantId: o.tenantId, name: o.name, health: o.health, cause: o.cause });
    if (multiOrgConsent) {
      fewest += 1;
      consents.push({
        ...base,
        id: `${app.id}:${group.staffId}`,
        orgIds: orgs.map((o) => o.tenantId),
        organisations: orgs.map(view),
        instruction: `${signIn} and approve ${app.name}, ticking ${orgs.length === 1 ? orgs[0]!.name : `all ${orgs.length} organisations: ${listNames(orgs.map((o) => o.name), 5)}`}.`,
        note: null,
      });
      continue;
    }
    // One consent per organisation. With 'many-organisations' the consent page offers a single choice for such an
    // app, and a grant the provider refused may have taken its connections with it (a revocation removes them
    // all), so each may need its own approval. But the provider keeps a person's earlier connections when they
    // approve again, and one token reaches all of them: if it still holds some, one approval brings those back
    // together and the rest of the group's approvals are skipped by the run. Relink cannot tell which while the
    // sign-in is refused, so the plan gives the count that always works and says how few it may take
    // (`countNote`). With 'one-organisation' each consent connects its own organisation only: no fewer.
    const listed = manyOrganisations ? orgs.filter((o) => o.listed) : [];
    const removed = orgs.length - listed.length;
    const groupFewest = removed + (listed.length > 0 && removed === 0 ? 1 : 0);
    fewest += groupFewest;
    if (groupFewest < orgs.length) {
      mayTakeFewer.push(`${app.name} as ${who}`);
      holders.add(provider.terms.name);
    }
    for (const o of orgs) {
      consents.push({
        ...base,
        id: `${app.id}:${group.staffId}:${o.tenantId}`,
        orgIds: [o.tenantId],
        organisations: [view(o)],
        instruction: `${signIn} and approve ${app.name} for ${o.name} (${app.name} connects one organisation per approval).`,
        note:
          listed.some((x) => x !== o)
            ? `If ${provider.terms.name} still holds ${who}'s other connections to ${app.name}, this approval brings them back too, and Relink skips the approvals no longer needed.`
            : null,
      });
    }
  }
  consents.sort((a, b) => a.staffName.localeCompare(b.staffName) || a.appName.localeCompare(b.appName) || (a.organisations[0]?.name ?? '').localeCompare(b.organisations[0]?.name ?? ''));

  for (const appId of rejectedApps) {
    const { terms } = appProvider(world, appId);
    notes.push(`${terms.name} rejects ${appName(world, appId)}'s app credentials, so reconnecting cannot help: update them from ${terms.developerPortal} first.`);
  }
  for (const [staffId, n] of leavingStaff) {
    const s = world.staff[staffId];
    notes.push(
      `${staffName(world, staffId)} is marked as ${s?.status ?? 'leaving'}: move their ${plural(n, 'connection')} to another advisor instead (the offboarding audit: relink audit staff ${s?.email || staffId}).`,
    );
  }
  for (const [staffId, tenants] of lostAccess) {
    notes.push(
      `${staffName(world, staffId)} no longer reaches ${listNames([...tenants].map((t) => orgName(world, t)))} for reasons a reconnect as them cannot fix (access removed, role too narrow, or another approval took over): see each connection's cause.`,
    );
  }

  const tracked: PlanTracked[] = Object.values(world.tracked)
    .map((t) => trackedView(t, world))
    .filter((v) => v.state === 'needs-reconnect' && (!filter.staffId || v.authorisedBy.staffId === filter.staffId))
    .filter((v) => filter.staffId || v.authorisedBy.status === null || v.authorisedBy.status === 'active')
    .sort((a, b) => a.authorisedBy.name.localeCompare(b.authorisedBy.name) || a.organisation.localeCompare(b.organisation) || a.app.localeCompare(b.app))
    .map((v) => ({
      id: v.id,
      tenantId: v.tenantId,
      organisation: v.organisation,
      app: v.app,
      reconnectUrl: v.reconnectUrl,
      state: v.state,
      reason: v.reason,
      authorisedBy: v.authorisedBy,
    }));

  const staffIds = new Set([...consents.map((c) => c.staffId), ...tracked.flatMap((t) => (t.authorisedBy.staffId ? [t.authorisedBy.staffId] : []))]);
  const triggers = triggersFor(world, staffIds);

  const filterStaff: StaffMember | undefined = filter.staffId ? world.staff[filter.staffId] : undefined;
  return {
    generatedAt: new Date(world.now).toISOString(),
    staff: filterStaff ? staffRef(filterStaff) : null,
    triggers,
    consents,
    tracked,
    totals: {
      consents: consents.length,
      fewestConsents: fewest,
      organisations: new Set(consents.flatMap((c) => c.orgIds)).size,
      connections: consents.reduce((n, c) => n + c.orgIds.length, 0),
      apps: new Set(consents.map((c) => c.appId)).size,
      staff: new Set(consents.map((c) => c.staffId)).size,
      tracked: tracked.length,
    },
    countNote:
      fewest < consents.length
        ? `${plural(consents.length, 'approval')} at most, perhaps as few as ${fewest}: ${listNames(mayTakeFewer)} ${mayTakeFewer.length === 1 ? 'connects' : 'connect'} one organisation per approval, ` +
          `but if ${listNames([...holders])} still ${holders.size === 1 ? 'holds' : 'hold'} the earlier connections, one approval brings them all back. Relink cannot look while the sign-in is refused; it checks every approval and skips those no longer needed.`
        : null,
    notes,
  };
}

/** Why these people's connections are in the plan: open password-change incidents and declarations. */
function triggersFor(world: WorkflowWorld, staffIds: Set<string>): PlanTrigger[] {
  const out: PlanTrigger[] = [];
  for (const i of Object.values(world.incidents)) {
    if (i.cause !== 'password-changed' || i.closedAt !== null || !i.staffId || !staffIds.has(i.staffId)) continue;
    out.push({ kind: 'detected', staffId: i.staffId, at: i.openedAt, summary: i.summary, declarationId: null, by: null });
  }
  const latest = new Map<string, PasswordChange>();
  for (const d of activeDeclarations(world)) {
    if (!staffIds.has(d.staffId)) continue;
    if ((latest.get(d.staffId)?.declaredAt ?? '') < d.declaredAt) latest.set(d.staffId, d);
  }
  for (const [staffId, d] of latest) {
    const provider = staffProvider(world, staffId);
    // A declaration explains the plan only where a password change ends the person's grants.
    if (!provider.policy.passwordChangeRevokesGrants) continue;
    const by = actorWords(d.declaredBy, d.person);
    out.push({
      kind: 'declared',
      staffId,
      at: d.declaredAt,
      summary: `${staffName(world, staffId)}'s ${provider.terms.name} password change was reported on ${day(d.declaredAt)} by ${by}.`,
      declarationId: d.id,
      by,
    });
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * What "Jane changed her password" would do, before it is recorded: the plan as it would be, and how many of
 * its organisations work right now (if all of them do, she may not have changed it, or the provider kept her
 * sign-ins).
 */
export function previewPasswordChange(world: WorkflowWorld, staffId: string): PasswordChangePreview {
  const s = world.staff[staffId];
  if (!s) throw new Error(`No staff member ${staffId}.`);
  const at = new Date(world.now).toISOString();
  const hypothetical: PasswordChange = { id: 'preview', staffId, declaredAt: at, declaredBy: 'advisor' };
  const plan = planReconnect({ ...world, passwordChanges: { ...world.passwordChanges, [hypothetical.id]: hypothetical } }, { staffId });
  plan.triggers = plan.triggers.filter((t) => t.declarationId !== hypothetical.id);
  const grants = Object.values(world.grants).filter((g) => g.staffId === staffId);
  const working = new Set<string>();
  for (const c of plan.consents) for (const o of c.organisations) if (!BROKEN_HEALTH.has(o.health)) working.add(`${c.appId}\u0000${o.tenantId}`);
  const inForce = activeDeclarations(world)
    .filter((d) => d.staffId === staffId && grants.some((g) => declaredBreak(g, world) === d.declaredAt))
    .map((d) => d.declaredAt)
    .sort()
    .at(-1);
  return { staff: staffRef(s), plan, signIns: grants.length, workingNow: working.size, alreadyDeclaredAt: inForce ?? null };
}
