import type { TrackedConnection, TrackedState, TrackedView } from '../../shared/workflows.js';
import { activeDeclarations, day, findStaff, orgName, staffName, staffProvider, type ProviderFacts, type WorkflowWorld } from './world.js';

/**
 * The inferred health of a tracked third-party connection. Relink holds no token for it, so it learns of
 * trouble only from what happens to the person who authorised it — the same events that break Relink's own
 * connections:
 *
 * - a password change: a `password-changed` incident for that person (open, or closed but still kept), or an
 *   advisor's declaration. It counts when it is later than the advisor's last confirmation. An event from
 *   before the entry was recorded counts only while its incident is still open: the advisor who recorded the
 *   entry afterwards presumably recorded a working connection, but while the provider is still refusing that
 *   person's connections, a freshly imported inventory is just as broken as an old one. Only where a password
 *   change ends every grant (the person's provider's `policy.passwordChangeRevokesGrants`).
 * - the person is marked leaving or removed: the connection must move to someone else. Confirming a reconnect
 *   does not clear that; recording the move (a new authoriser) does.
 *
 * The advisor's confirmation ("reconnected") is the only thing stored: the state itself is computed each time,
 * so it can never go stale.
 */
export interface TrackedHealth {
  state: TrackedState;
  reason: string | null;
}

interface Trigger {
  at: string;
  live: boolean;
  text: string;
}

/** What the tracked-connection rules read. */
type TrackedFacts = Pick<WorkflowWorld, 'staff' | 'incidents' | 'passwordChanges' | 'organisations' | 'grants'> & ProviderFacts;

export function trackedHealth(t: TrackedConnection, world: TrackedFacts): TrackedHealth {
  const person = findStaff(world.staff, t.authorisedBy);
  const where = t.reconnectUrl ? ` (${t.reconnectUrl})` : '';
  if (person && person.status !== 'active') {
    return {
      state: 'needs-reconnect',
      reason:
        `${staffName(world, person.id)} is marked as ${person.status}: have another advisor authorise ${t.app} for ` +
        `${orgName(world, t.tenantId)} in ${t.app}'s own settings${where}, then record the move in Relink.`,
    };
  }
  // The password is the one the person signs in to the organisations' provider with: their provider's.
  const provider = person ? staffProvider(world, person.id) : null;
  if (person && provider?.policy.passwordChangeRevokesGrants) {
    const who = staffName(world, person.id);
    const triggers: Trigger[] = [];
    for (const i of Object.values(world.incidents)) {
      if (i.cause !== 'password-changed' || i.staffId !== person.id) continue;
      triggers.push({ at: i.openedAt, live: i.closedAt === null, text: `${who}'s ${provider.terms.name} password probably changed (Relink noticed on ${day(i.openedAt)})` });
    }
    for (const d of activeDeclarations(world)) {
      if (d.staffId !== person.id) continue;
      triggers.push({ at: d.declaredAt, live: false, text: `${who}'s ${provider.terms.name} password change was reported on ${day(d.declaredAt)}` });
    }
    const counted = triggers
      .filter((x) => (t.confirmedAt === null || x.at > t.confirmedAt) && (x.live || x.at > t.createdAt))
      .sort((a, b) => a.at.localeCompare(b.at));
    const latest = counted.at(-1);
    if (latest) {
      return {
        state: 'needs-reconnect',
        reason: `${latest.text}: reconnect ${t.app} for ${orgName(world, t.tenantId)} in ${t.app}'s own settings${where}, then tick it off here.`,
      };
    }
  }
  if (t.confirmedAt) return { state: 'reconnected', reason: `Confirmed reconnected on ${day(t.confirmedAt)}.` };
  return { state: 'ok', reason: null };
}

export function trackedView(t: TrackedConnection, world: TrackedFacts): TrackedView {
  const person = findStaff(world.staff, t.authorisedBy);
  const health = trackedHealth(t, world);
  return {
    id: t.id,
    tenantId: t.tenantId,
    organisation: orgName(world, t.tenantId),
    app: t.app,
    authorisedBy: {
      ref: t.authorisedBy,
      staffId: person?.id ?? null,
      name: person ? person.name || person.email || person.id : t.authorisedBy,
      email: person?.email ?? (t.authorisedBy.includes('@') ? t.authorisedBy : ''),
      status: person?.status ?? null,
    },
    reconnectUrl: t.reconnectUrl,
    notes: t.notes,
    source: t.source,
    createdAt: t.createdAt,
    state: health.state,
    reason: health.reason,
    confirmedAt: t.confirmedAt,
    confirmedBy: t.confirmedBy,
    history: t.history.map((h) => ({ ...h })),
  };
}

/** Whether the entry was authorised by this staff member (by id or by email). */
export function authorisedByStaff(t: TrackedConnection, world: Pick<WorkflowWorld, 'staff'>, staffId: string): boolean {
  return findStaff(world.staff, t.authorisedBy)?.id === staffId;
}
