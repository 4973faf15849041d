import { BROKEN_HEALTH, type Health } from '../../../../shared/domain.js';
import type { OrgRow, SnapshotIndex } from '../../state/derive.js';

/**
 * The Organisations filters. `health` is a health state or `attention` (any state a person must act on).
 * Health, staff member and cause must all hold for the same connection, so "Jane's broken ones" means
 * connections Jane made that are broken, not organisations where Jane made one and another is broken.
 */
export interface OrgFilters {
  query: string;
  health: string;
  appId: string;
  staffId: string;
  cause: string;
}

export const NO_FILTERS: OrgFilters = { query: '', health: '', appId: '', staffId: '', cause: '' };

export const FILTER_PARAMS = { health: 'health', appId: 'app', staffId: 'staff', cause: 'cause', query: 'q' } as const;

export function filtersFromParams(params: URLSearchParams): OrgFilters {
  return {
    query: params.get(FILTER_PARAMS.query) ?? '',
    health: params.get(FILTER_PARAMS.health) ?? '',
    appId: params.get(FILTER_PARAMS.appId) ?? '',
    staffId: params.get(FILTER_PARAMS.staffId) ?? '',
    cause: params.get(FILTER_PARAMS.cause) ?? '',
  };
}

export function filtersToParams(f: OrgFilters): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, param] of Object.entries(FILTER_PARAMS) as Array<[keyof OrgFilters, string]>) if (f[key]) out[param] = f[key];
  return out;
}

export function hasFilters(f: OrgFilters): boolean {
  return !!(f.query.trim() || f.health || f.appId || f.staffId || f.cause);
}

/**
 * One pass over rows already in the wanted order (see `sortedRows`), keeping that order; no allocation per
 * row beyond the result array.
 */
export function filterRows(index: SnapshotIndex, rows: OrgRow[], f: OrgFilters): OrgRow[] {
  const q = f.query.trim().toLocaleLowerCase();
  if (f.appId && !index.appColumn.has(f.appId)) return [];
  const health: ((h: Health) => boolean) | null =
    f.health === 'attention' ? (h) => BROKEN_HEALTH.has(h) : f.health ? (h) => h === f.health : null;
  const perConnection = health !== null || !!f.staffId || !!f.cause || !!f.appId;
  if (!q && !perConnection) return rows;

  const out: OrgRow[] = [];
  for (const row of rows) {
    if (q && !row.search.includes(q)) continue;
    if (perConnection) {
      // Every connection, not just the one a cell shows: "connected by Aroha" must find Aroha's healthy
      // connection even where Jane's broken one for the same app is what the cell displays.
      let match = false;
      for (const c of row.all) {
        if (f.appId && c.appId !== f.appId) continue;
        if (health && !health(c.health)) continue;
        if (f.staffId && c.staffId !== f.staffId) continue;
        if (f.cause && c.cause !== f.cause) continue;
        match = true;
        break;
      }
      if (!match) continue;
    }
    out.push(row);
  }
  return out;
}
