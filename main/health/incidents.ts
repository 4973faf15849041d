import { BROKEN_HEALTH, type Incident } from '../../shared/domain.js';
import type { Finding, Verdict } from './assess.js';

/**
 * The incident lifecycle: a finding opens an incident once; it stays open (its evidence and connections kept
 * up to date) while the finding persists; it closes when its connections recover. An incident that closed a
 * few minutes ago and comes back is reopened rather than announced again, so a connection that wobbles does
 * not notify anyone twice.
 */
export type IncidentEvent =
  | { kind: 'opened'; incident: Incident }
  | { kind: 'recovered'; incident: Incident }
  /** Its connections are now explained by a different finding (e.g. "possible" became a named cause). */
  | { kind: 'superseded'; incident: Incident };

export interface ReconcileOptions {
  now: number;
  newId: () => string;
  /** A closed incident whose finding returns within this window is reopened silently. */
  reopenWindowMs?: number;
  /** Closed incidents older than this are forgotten. */
  keepClosedMs?: number;
}

export function reconcileIncidents(
  existing: Readonly<Record<string, Incident>>,
  findings: readonly Finding[],
  verdicts: Readonly<Record<string, Verdict>>,
  opts: ReconcileOptions,
): { incidents: Record<string, Incident>; events: IncidentEvent[] } {
  const now = new Date(opts.now).toISOString();
  const reopenWindow = opts.reopenWindowMs ?? 10 * 60_000;
  const keepClosed = opts.keepClosedMs ?? 90 * 86_400_000;
  const incidents: Record<string, Incident> = {};
  const events: IncidentEvent[] = [];
  const byKey = new Map<string, Incident>();
  for (const i of Object.values(existing)) {
    const prev = byKey.get(i.key);
    // Prefer the open one; among closed ones, the most recently closed.
    if (!prev || (prev.closedAt !== null && (i.closedAt === null || i.closedAt > prev.closedAt))) byKey.set(i.key, i);
    incidents[i.id] = i;
  }
  const current = new Set<string>();
  const coveredNow = new Set<string>();
  for (const f of findings) {
    current.add(f.key);
    for (const id of f.connectionIds) coveredNow.add(id);
    const facts = {
      cause: f.cause,
      confidence: f.confidence,
      staffId: f.staffId,
      appId: f.appId,
      tenantIds: f.tenantIds,
      connectionIds: f.connectionIds,
      summary: f.summary,
      evidence: f.evidence,
      fix: f.fix,
    };
    const known = byKey.get(f.key);
    if (known && known.closedAt === null) {
      incidents[known.id] = { ...known, ...facts };
      continue;
    }
    if (known && known.closedAt !== null && opts.now - Date.parse(known.closedAt) <= reopenWindow) {
      incidents[known.id] = { ...known, ...facts, closedAt: null, reopenedAt: now };
      continue;
    }
    const opened: Incident = { id: opts.newId(), key: f.key, ...facts, openedAt: now, closedAt: null, reopenedAt: null };
    incidents[opened.id] = opened;
    byKey.set(f.key, opened); // a second finding with this key this round updates it rather than opening another
    events.push({ kind: 'opened', incident: opened });
  }
  for (const i of Object.values(incidents)) {
    if (i.closedAt !== null || current.has(i.key)) continue;
    const stillBroken = i.connectionIds.filter((id) => {
      const v = verdicts[id];
      return v !== undefined && (BROKEN_HEALTH.has(v.health) || v.health === 'unverified');
    });
    if (stillBroken.length === 0) {
      const closed = { ...i, closedAt: now, reopenedAt: null };
      incidents[i.id] = closed;
      // A wobble (closed, silently reopened, closed again) was already announced as recovered once.
      if (i.reopenedAt === null) events.push({ kind: 'recovered', incident: closed });
    } else if (stillBroken.every((id) => coveredNow.has(id))) {
      const closed = { ...i, closedAt: now, reopenedAt: null };
      incidents[i.id] = closed;
      events.push({ kind: 'superseded', incident: closed });
    }
    // Otherwise leave it open: its connections are still broken and nothing else explains them yet.
  }
  for (const i of Object.values(incidents)) {
    if (i.closedAt !== null && opts.now - Date.parse(i.closedAt) > keepClosed) delete incidents[i.id];
  }
  return { incidents, events };
}
