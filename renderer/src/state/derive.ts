import type { StatusSnapshot } from '../../../shared/api.js';
import { BROKEN_HEALTH, HEALTH_STATES, type Cause, type Health } from '../../../shared/domain.js';
import { HEALTH_WORDS } from '../ui/words.js';

/**
 * Lookups and the organisations-by-apps table, built once per snapshot (snapshots are immutable and replaced
 * whole, so a WeakMap keyed by the snapshot is the cache). Only grouping and counting happens here: every
 * health, cause and fix comes from main as it sent them.
 */

export type AppView = StatusSnapshot['apps'][number];
export type StaffView = StatusSnapshot['staff'][number];
export type GrantView = StatusSnapshot['grants'][number];
export type ConnectionView = StatusSnapshot['connections'][number];
export type IncidentView = StatusSnapshot['incidents'][number];

export interface OrgRow {
  id: string;
  name: string;
  /** Lower-cased name, so a search keystroke does no string work beyond `includes`. */
  search: string;
  /**
   * One entry per app column (same order as `SnapshotIndex.apps`): the connection that most needs attention,
   * or null when that app is not connected. Two people can each connect the same app to an organisation, so a
   * cell may stand for more than one connection; `all` has every one.
   */
  cells: Array<ConnectionView | null>;
  /** How many connections each cell stands for. */
  cellCounts: number[];
  all: ConnectionView[];
  /** The most urgent health across the row's connections (lowest rank). */
  worstRank: number;
  broken: number;
}

export interface SnapshotIndex {
  /** Apps in column order (by name). */
  apps: AppView[];
  appColumn: Map<string, number>;
  appsById: Map<string, AppView>;
  staffById: Map<string, StaffView>;
  grantsById: Map<string, GrantView>;
  incidentsById: Map<string, IncidentView>;
  /** Organisations by name. */
  rows: OrgRow[];
  rowsById: Map<string, OrgRow>;
  healthCounts: Record<Health, number>;
  brokenCount: number;
  connectionsByStaff: Map<string, ConnectionView[]>;
  grantsByStaff: Map<string, GrantView[]>;
  connectionsByIncident: Map<string, ConnectionView[]>;
  /** Causes present in the snapshot (for the filter list). */
  causes: Cause[];
}

const cache = new WeakMap<StatusSnapshot, SnapshotIndex>();
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

export function compareNames(a: string, b: string): number {
  return collator.compare(a, b);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexSnapshot(snapshot: StatusSnapshot): SnapshotIndex {
  const cached = cache.get(snapshot);
  if (cached) return cached;

  const apps = [...snapshot.apps].sort((a, b) => compareNames(a.name, b.name));
  const appColumn = new Map(apps.map((a, i) => [a.id, i]));
  const healthCounts = Object.fromEntries(HEALTH_STATES.map((h) => [h, 0])) as Record<Health, number>;
  const rowsById = new Map<string, OrgRow>();
  const connectionsByStaff = new Map<string, ConnectionView[]>();
  const connectionsByIncident = new Map<string, ConnectionView[]>();
  const causes = new Set<Cause>();
  let brokenCount = 0;

  for (const c of snapshot.connections) {
    healthCounts[c.health] += 1;
    const broken = BROKEN_HEALTH.has(c.health);
    if (broken) brokenCount += 1;
    if (c.cause) causes.add(c.cause);
    push(connectionsByStaff, c.staffId, c);
    if (c.incidentId) push(connectionsByIncident, c.incidentId, c);

    let row = rowsById.get(c.orgId);
    if (!row) {
      row = {
        id: c.orgId,
        name: c.orgName,
        search: c.orgName.toLocaleLowerCase(),
        cells: apps.map(() => null),
        cellCounts: apps.map(() => 0),
        all: [],
        worstRank: Infinity,
        broken: 0,
      };
      rowsById.set(c.orgId, row);
    }
    row.all.push(c);
    const col = appColumn.get(c.appId);
    if (col === undefined) continue;
    // When two people's sign-ins both reach the organisation, the cell shows the one that needs attention,
    // so it never hides a problem behind a healthy twin.
    const existing = row.cells[col];
    if (!existing || HEALTH_WORDS[c.health].rank < HEALTH_WORDS[existing.health].rank) row.cells[col] = c;
    row.cellCounts[col] = (row.cellCounts[col] ?? 0) + 1;
    row.worstRank = Math.min(row.worstRank, HEALTH_WORDS[c.health].rank);
    if (broken) row.broken += 1;
  }

  const rows = [...rowsById.values()].sort((a, b) => compareNames(a.name, b.name));
  const grantsByStaff = new Map<string, GrantView[]>();
  for (const g of snapshot.grants) push(grantsByStaff, g.staffId, g);

  const index: SnapshotIndex = {
    apps,
    appColumn,
    appsById: new Map(snapshot.apps.map((a) => [a.id, a])),
    staffById: new Map(snapshot.staff.map((s) => [s.id, s])),
    grantsById: new Map(snapshot.grants.map((g) => [g.id, g])),
    incidentsById: new Map(snapshot.incidents.map((i) => [i.id, i])),
    rows,
    rowsById,
    healthCounts,
    brokenCount,
    connectionsByStaff,
    grantsByStaff,
    connectionsByIncident,
    causes: [...causes].sort(),
  };
  cache.set(snapshot, index);
  return index;
}

/** A staff member's display name, falling back to what main knows when the person is not listed. */
export function staffName(index: SnapshotIndex, staffId: string | null | undefined): string {
  if (!staffId) return 'Someone';
  const s = index.staffById.get(staffId);
  return s ? s.name || s.email : 'A former staff member';
}

export function appName(index: SnapshotIndex, appId: string | null | undefined): string {
  if (!appId) return 'An app';
  return index.appsById.get(appId)?.name ?? 'A removed app';
}

const orders = new WeakMap<SnapshotIndex, Map<string, OrgRow[]>>();

/**
 * The organisations in a sort order, computed once per snapshot and order and then reused for every
 * keystroke: filtering keeps the order, so searching never sorts 2,000 rows again. `appId` null sorts by
 * name; an app sorts by that app's health (needs attention first), then by name.
 */
export function sortedRows(index: SnapshotIndex, appId: string | null, desc: boolean): OrgRow[] {
  let cache = orders.get(index);
  if (!cache) {
    cache = new Map();
    orders.set(index, cache);
  }
  const key = `${appId ?? ''}\u0000${desc ? 'desc' : 'asc'}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let out: OrgRow[];
  const col = appId === null ? undefined : index.appColumn.get(appId);
  if (col === undefined) {
    out = desc ? [...index.rows].reverse() : index.rows;
  } else {
    // index.rows is already in name order and Array.prototype.sort is stable, so ties stay alphabetical.
    const rank = (r: OrgRow) => {
      const c = r.cells[col];
      return c ? HEALTH_WORDS[c.health].rank : Number.MAX_SAFE_INTEGER;
    };
    out = [...index.rows].sort((a, b) => (desc ? rank(b) - rank(a) : rank(a) - rank(b)));
  }
  cache.set(key, out);
  return out;
}
