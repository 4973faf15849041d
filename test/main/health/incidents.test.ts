import { describe, expect, it } from 'vitest';
import { incidentSchema, type Incident } from '../../../shared/domain.js';
import { assessHealth, type Finding, type Verdict } from '../../../main/health/assess.js';
import { reconcileIncidents, type IncidentEvent, type ReconcileOptions } from '../../../main/health/incidents.js';
import { DAY, HOUR, MINUTE, NOW, World, ago, deepFreeze, iso } from './world.js';

/**
 * The incident lifecycle (incidents.ts): a finding opens an incident once; it is updated while the finding
 * persists; it closes with 'recovered' when its connections recover, or 'superseded' when another finding
 * explains them; a quick return reopens it silently.
 */

const REOPEN = 10 * MINUTE;

/** Drives rounds of assess → reconcile over one world, as the engine will. */
class Rounds {
  incidents: Record<string, Incident> = {};
  readonly log: Array<{ at: number; events: IncidentEvent[] }> = [];
  private n = 0;
  readonly ids: string[] = [];
  constructor(
    readonly w: World,
    private readonly extra: Partial<ReconcileOptions> = {},
  ) {}

  /** One round at `at` (default: the world's now). Validates every incident and checks the input is left alone. */
  run(at = this.w.now) {
    this.w.now = at;
    const report = assessHealth(deepFreeze(this.w.input()));
    const existing = deepFreeze(structuredClone(this.incidents));
    const { incidents, events } = reconcileIncidents(existing, deepFreeze(report.findings), deepFreeze(report.connections), {
      now: at,
      newId: () => {
        const id = `inc-${++this.n}`;
        this.ids.push(id);
        return id;
      },
      reopenWindowMs: REOPEN,
      ...this.extra,
    });
    for (const i of Object.values(incidents)) expect(incidentSchema.parse(i)).toEqual(i);
    this.incidents = incidents;
    this.log.push({ at, events });
    return { report, incidents, events };
  }

  open() {
    return Object.values(this.incidents).filter((i) => i.closedAt === null);
  }

  allEvents() {
    return this.log.flatMap((l) => l.events);
  }
}

/** Jane holds two apps over four orgs; Bob one app over two. */
function firm() {
  const w = new World();
  w.app('practice-sync');
  w.app('receipts-bridge');
  w.person('u-jane', 'Jane Doe');
  w.person('u-bob', 'Bob Smith');
  const orgs = w.orgs('o', 4);
  const jane = w.grantWith('practice-sync', 'u-jane', orgs);
  const janeReceipts = w.grantWith('receipts-bridge', 'u-jane', orgs.slice(0, 2));
  const bob = w.grantWith('practice-sync', 'u-bob', orgs.slice(2));
  return { w, jane, janeReceipts, bob };
}

/** Jane's password changes at `at`: both grants refused. */
function breakJane(w: World, ids: { jane: { grant: { id: string } }; janeReceipts: { grant: { id: string } } }, at: number) {
  w.revoke(ids.jane.grant.id, iso(at - 2 * MINUTE));
  w.revoke(ids.janeReceipts.grant.id, iso(at - MINUTE));
}

/** Jane reconnects at `at`: both grants active and freshly refreshed. */
function healJane(w: World, ids: { jane: { grant: { id: string } }; janeReceipts: { grant: { id: string } } }, at: number) {
  for (const id of [ids.jane.grant.id, ids.janeReceipts.grant.id]) {
    w.update(id, { state: 'active', stateSince: iso(at), consecutiveFailures: 0, lastFailure: null, refreshTokenIssuedAt: iso(at), lastRefreshAt: iso(at), lastProbeAt: iso(at) });
    for (const c of w.connectionsOf(id)) w.updateConnection(c.id, { lastSeenAt: iso(at) });
  }
}

describe('reconcileIncidents', () => {
  it('a finding opens one incident, with an opened event carrying it', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    const { incidents, events, report } = rounds.run(NOW);
    expect(report.findings).toHaveLength(1);
    const finding = report.findings[0]!;
    expect(Object.keys(incidents)).toEqual(['inc-1']);
    const inc = incidents['inc-1']!;
    expect(inc).toEqual({
      id: 'inc-1',
      key: finding.key,
      cause: 'password-changed',
      confidence: 'likely',
      staffId: 'u-jane',
      appId: null,
      tenantIds: finding.tenantIds,
      connectionIds: finding.connectionIds,
      summary: "Jane Doe's Xero password probably changed — 2 apps, 4 organisations",
      evidence: finding.evidence,
      fix: finding.fix,
      openedAt: iso(NOW),
      closedAt: null,
      reopenedAt: null,
    });
    expect(events).toEqual([{ kind: 'opened', incident: inc }]);
  });

  it('the same finding next round updates the incident without an event; connections added keep the same id', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    // Next round: nothing new.
    const second = rounds.run(NOW + 15 * MINUTE);
    expect(second.events).toEqual([]);
    expect(Object.keys(second.incidents)).toEqual(['inc-1']);
    // A fifth organisation turns up under Jane's refused grant: the same event, now bigger.
    const extra = f.w.connection(f.jane.grant.id, 'o-5', { lastSeenAt: ago(10 * MINUTE) });
    const third = rounds.run(NOW + 30 * MINUTE);
    expect(third.events).toEqual([]);
    expect(Object.keys(third.incidents)).toEqual(['inc-1']);
    const inc = third.incidents['inc-1']!;
    expect(inc.connectionIds).toContain(extra.id);
    expect(inc.connectionIds).toHaveLength(7);
    expect(inc.tenantIds).toHaveLength(5);
    expect(inc.summary).toBe("Jane Doe's Xero password probably changed — 2 apps, 5 organisations");
    expect(inc.openedAt).toBe(iso(NOW));
    expect(inc.closedAt).toBeNull();
    expect(rounds.ids).toEqual(['inc-1']);
  });

  it('a finding whose confidence rises keeps its incident (same key), silently', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    f.w.revoke(f.jane.grant.id, iso(NOW - MINUTE));
    // Jane's other grant has not been tried since: one refusal → possible.
    f.w.update(f.janeReceipts.grant.id, { lastRefreshAt: iso(NOW - 2 * HOUR), refreshTokenIssuedAt: iso(NOW - 2 * HOUR) });
    const first = rounds.run(NOW);
    expect(first.incidents['inc-1']).toMatchObject({ cause: 'password-changed', confidence: 'possible' });
    f.w.revoke(f.janeReceipts.grant.id, iso(NOW + 5 * MINUTE));
    const second = rounds.run(NOW + 10 * MINUTE);
    expect(second.events).toEqual([]);
    expect(second.incidents['inc-1']).toMatchObject({ confidence: 'likely', closedAt: null });
    expect(second.incidents['inc-1']!.connectionIds).toHaveLength(6);
  });

  it('finding gone and connections healthy → closed with recovered', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    healJane(f.w, f, NOW + HOUR);
    const { incidents, events, report } = rounds.run(NOW + HOUR);
    expect(report.findings).toEqual([]);
    const inc = incidents['inc-1']!;
    expect(inc.closedAt).toBe(iso(NOW + HOUR));
    expect(inc.openedAt).toBe(iso(NOW));
    expect(events).toEqual([{ kind: 'recovered', incident: inc }]);
    // Closed stays closed, quietly.
    expect(rounds.run(NOW + 2 * HOUR).events).toEqual([]);
    expect(rounds.incidents['inc-1']!.closedAt).toBe(iso(NOW + HOUR));
  });

  it('connections no longer known count as recovered', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    for (const g of [f.jane.grant.id, f.janeReceipts.grant.id]) {
      delete f.w.grants[g];
      for (const c of f.w.connectionsOf(g)) delete f.w.connections[c.id];
    }
    expect(rounds.run(NOW + HOUR).events.map((e) => e.kind)).toEqual(['recovered']);
  });

  it('returns within reopenWindowMs → reopened silently: same id, no event', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    healJane(f.w, f, NOW + 2 * MINUTE);
    rounds.run(NOW + 2 * MINUTE);
    breakJane(f.w, f, NOW + 2 * MINUTE + REOPEN);
    const { incidents, events } = rounds.run(NOW + 2 * MINUTE + REOPEN); // exactly at the edge of the window
    expect(events).toEqual([]);
    expect(Object.keys(incidents)).toEqual(['inc-1']);
    expect(incidents['inc-1']).toMatchObject({ closedAt: null, openedAt: iso(NOW) });
    expect(rounds.ids).toEqual(['inc-1']);
  });

  it('returns after the window → a new incident and opened; the old one stays closed', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    healJane(f.w, f, NOW + 2 * MINUTE);
    rounds.run(NOW + 2 * MINUTE);
    const back = NOW + 2 * MINUTE + REOPEN + 1000;
    breakJane(f.w, f, back);
    const { incidents, events } = rounds.run(back);
    expect(Object.keys(incidents).sort()).toEqual(['inc-1', 'inc-2']);
    expect(incidents['inc-1']!.closedAt).toBe(iso(NOW + 2 * MINUTE));
    expect(incidents['inc-2']).toMatchObject({ key: incidents['inc-1']!.key, openedAt: iso(back), closedAt: null });
    expect(events).toEqual([{ kind: 'opened', incident: incidents['inc-2'] }]);
  });

  it('reopens the most recently closed of several closed incidents with that key', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const { findings, connections } = assessHealth(f.w.input());
    const key = findings[0]!.key;
    const base = { ...findings[0]!, openedAt: iso(NOW - 3 * DAY) } as Incident & Finding;
    const old: Incident = { ...toIncident(base, 'old'), closedAt: iso(NOW - 2 * DAY) };
    const recent: Incident = { ...toIncident(base, 'recent'), closedAt: iso(NOW - 3 * MINUTE) };
    const { incidents, events } = reconcileIncidents({ old, recent }, findings, connections, { now: NOW, newId: () => 'new', reopenWindowMs: REOPEN });
    expect(events).toEqual([]);
    expect(incidents['recent']).toMatchObject({ key, closedAt: null });
    expect(incidents['old']!.closedAt).toBe(old.closedAt);
    expect(incidents['new']).toBeUndefined();
  });

  it('connections still broken but explained by another finding → superseded', () => {
    // One org vanishes from Jane's working grant (app disconnected there?), then a second one shortly after:
    // she was removed from both, and the first incident is folded into the better explanation.
    const f = firm();
    const rounds = new Rounds(f.w);
    const [c1, c2] = [f.jane.connections[0]!, f.jane.connections[1]!];
    f.w.vanish(c1.id, iso(NOW - 5 * MINUTE));
    const first = rounds.run(NOW);
    expect(first.incidents['inc-1']).toMatchObject({ cause: 'app-disconnected-in-org', connectionIds: [c1.id] });
    f.w.vanish(c2.id, iso(NOW + 10 * MINUTE));
    const { incidents, events } = rounds.run(NOW + 15 * MINUTE);
    expect(incidents['inc-1']!.closedAt).toBe(iso(NOW + 15 * MINUTE));
    expect(incidents['inc-2']).toMatchObject({ cause: 'staff-removed', closedAt: null });
    expect(new Set(incidents['inc-2']!.connectionIds)).toEqual(new Set([c1.id, c2.id]));
    expect(events.map((e) => [e.kind, e.incident.id])).toEqual([
      ['opened', 'inc-2'],
      ['superseded', 'inc-1'],
    ]);
  });

  it('a possible cause superseded by a named one (a refused grant, then the person is marked leaving)', () => {
    const f = firm();
    const rounds = new Rounds(f.w);
    f.w.revoke(f.jane.grant.id, iso(NOW - 30 * MINUTE));
    f.w.update(f.janeReceipts.grant.id, { lastRefreshAt: iso(NOW - 10 * MINUTE) });
    expect(rounds.run(NOW).incidents['inc-1']).toMatchObject({ cause: 'grant-revoked', confidence: 'possible' });
    f.w.person('u-jane', 'Jane Doe', { status: 'leaving' });
    const { incidents, events } = rounds.run(NOW + HOUR);
    expect(events.map((e) => [e.kind, e.incident.cause])).toEqual([
      ['opened', 'staff-removed'],
      ['superseded', 'grant-revoked'],
    ]);
    expect(rounds.open().map((i) => i.cause)).toEqual(['staff-removed']);
    expect(incidents['inc-1']!.closedAt).toBe(iso(NOW + HOUR));
  });

  it('still broken and unexplained → stays open, no event', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const r = assessHealth(f.w.input());
    const opened = reconcileIncidents({}, r.findings, r.connections, { now: NOW, newId: () => 'i1' });
    // Next round the finding is gone but the connections are still broken (say the rule that explained them
    // no longer fires) — or unverified: nothing says they recovered.
    const later = NOW + HOUR;
    const stillBroken: Record<string, Verdict> = {};
    const ids = r.findings[0]!.connectionIds;
    ids.forEach((id, n) => {
      stillBroken[id] = { health: n % 2 ? 'unverified' : 'needs-reconnect', cause: null, confidence: null, since: iso(NOW), fix: null };
    });
    const next = reconcileIncidents(opened.incidents, [], stillBroken, { now: later, newId: () => 'i2' });
    expect(next.events).toEqual([]);
    expect(next.incidents['i1']!.closedAt).toBeNull();
    // One of them recovers: still open while any stays broken.
    stillBroken[ids[0]!] = { health: 'healthy', cause: null, confidence: null, since: iso(later), fix: null };
    expect(reconcileIncidents(next.incidents, [], stillBroken, { now: later + HOUR, newId: () => 'i3' }).incidents['i1']!.closedAt).toBeNull();
  });

  it('partly explained by another finding is not superseded: stays open', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const r = assessHealth(f.w.input());
    const opened = reconcileIncidents({}, r.findings, r.connections, { now: NOW, newId: () => 'i1' });
    const ids = r.findings[0]!.connectionIds;
    const other: Finding = { ...r.findings[0]!, key: 'staff-removed:staff:u-jane', cause: 'staff-removed', connectionIds: ids.slice(0, 2) };
    const next = reconcileIncidents(opened.incidents, [other], r.connections, { now: NOW + HOUR, newId: () => 'i2' });
    expect(next.incidents['i1']!.closedAt).toBeNull();
    expect(next.events.map((e) => e.kind)).toEqual(['opened']);
  });

  it('closed incidents older than keepClosedMs are dropped; younger ones kept', () => {
    const f = firm();
    const rounds = new Rounds(f.w, { keepClosedMs: 7 * DAY });
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    healJane(f.w, f, NOW + HOUR);
    rounds.run(NOW + HOUR);
    expect(rounds.run(NOW + HOUR + 7 * DAY).incidents['inc-1']).toBeDefined();
    const { incidents, events } = rounds.run(NOW + HOUR + 7 * DAY + 1);
    expect(incidents).toEqual({});
    expect(events).toEqual([]);
  });

  it('open incidents are never dropped, however old', () => {
    const f = firm();
    const rounds = new Rounds(f.w, { keepClosedMs: DAY });
    breakJane(f.w, f, NOW);
    rounds.run(NOW);
    expect(rounds.run(NOW + 200 * DAY).incidents['inc-1']).toMatchObject({ closedAt: null });
  });

  it('default windows: reopen within 10 minutes, keep closed incidents 90 days', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const broken = assessHealth(f.w.input());
    let ids = 0;
    const newId = () => `d${++ids}`;
    let s = reconcileIncidents({}, broken.findings, broken.connections, { now: NOW, newId });
    s = reconcileIncidents(s.incidents, [], {}, { now: NOW + MINUTE, newId });
    expect(s.events.map((e) => e.kind)).toEqual(['recovered']);
    const quick = reconcileIncidents(s.incidents, broken.findings, broken.connections, { now: NOW + MINUTE + 10 * MINUTE, newId });
    expect(quick.events).toEqual([]);
    const slow = reconcileIncidents(s.incidents, broken.findings, broken.connections, { now: NOW + MINUTE + 10 * MINUTE + 1, newId });
    expect(slow.events.map((e) => e.kind)).toEqual(['opened']);
    expect(reconcileIncidents(s.incidents, [], {}, { now: NOW + MINUTE + 90 * DAY, newId }).incidents['d1']).toBeDefined();
    expect(reconcileIncidents(s.incidents, [], {}, { now: NOW + MINUTE + 90 * DAY + 1, newId }).incidents).toEqual({});
  });

  it('two findings with the same key in one round open one incident', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const r = assessHealth(f.w.input());
    const twin = { ...r.findings[0]!, evidence: ['a second rule saw the same event'] };
    let n = 0;
    const first = reconcileIncidents({}, [r.findings[0]!, twin], r.connections, { now: NOW, newId: () => `t${++n}` });
    expect(first.events.map((e) => e.kind)).toEqual(['opened']);
    expect(Object.keys(first.incidents)).toEqual(['t1']);
    // And nothing is left behind open once the event is over.
    const healed = Object.fromEntries(Object.keys(r.connections).map((id) => [id, { ...r.connections[id]!, health: 'healthy' as const }]));
    const later = reconcileIncidents(first.incidents, [], healed, { now: NOW + HOUR, newId: () => 'x' });
    expect(Object.values(later.incidents).filter((i) => i.closedAt === null)).toEqual([]);
  });

  it('does not mutate what it is given', () => {
    const f = firm();
    breakJane(f.w, f, NOW);
    const r = assessHealth(f.w.input());
    const first = reconcileIncidents({}, r.findings, r.connections, { now: NOW, newId: () => 'i1' });
    const existing = deepFreeze(structuredClone(first.incidents));
    const snapshot = structuredClone(existing);
    reconcileIncidents(existing, [], {}, { now: NOW + HOUR, newId: () => 'i2' });
    expect(existing).toEqual(snapshot);
  });

  describe('flapping: break, recover, break within 5 minutes, recover', () => {
    function flap() {
      const f = firm();
      const rounds = new Rounds(f.w);
      breakJane(f.w, f, NOW);
      rounds.run(NOW);
      healJane(f.w, f, NOW + 2 * MINUTE);
      rounds.run(NOW + 2 * MINUTE);
      breakJane(f.w, f, NOW + 5 * MINUTE);
      rounds.run(NOW + 5 * MINUTE);
      healJane(f.w, f, NOW + 7 * MINUTE);
      rounds.run(NOW + 7 * MINUTE);
      return rounds;
    }

    it('one incident, one opened event, no event on the silent reopen, and it ends closed with recovered', () => {
      const rounds = flap();
      const events = rounds.allEvents();
      expect(events.filter((e) => e.kind === 'opened')).toHaveLength(1);
      expect(rounds.log[2]!.events).toEqual([]);
      expect(events.at(-1)).toMatchObject({ kind: 'recovered', incident: { id: 'inc-1', closedAt: iso(NOW + 2 * MINUTE) } });
      expect(rounds.incidents['inc-1']).toMatchObject({ closedAt: iso(NOW + 7 * MINUTE), reopenedAt: null });
      expect(new Set(events.map((e) => e.incident.id))).toEqual(new Set(['inc-1']));
      expect(rounds.ids).toEqual(['inc-1']);
      expect(Object.keys(rounds.incidents)).toEqual(['inc-1']);
      expect(rounds.open()).toEqual([]);
    });

    // The silent reopen marks the incident (reopenedAt), so its second recovery is not announced again.
    it('exactly one recovered event over the whole wobble', () => {
      const events = flap().allEvents();
      expect(events.map((e) => e.kind)).toEqual(['opened', 'recovered']);
    });
  });
});

function toIncident(f: Finding & { openedAt: string }, id: string): Incident {
  return {
    id,
    key: f.key,
    cause: f.cause,
    confidence: f.confidence,
    staffId: f.staffId,
    appId: f.appId,
    tenantIds: f.tenantIds,
    connectionIds: f.connectionIds,
    summary: f.summary,
    evidence: f.evidence,
    fix: f.fix,
    openedAt: f.openedAt,
    closedAt: null,
    reopenedAt: null,
  };
}
