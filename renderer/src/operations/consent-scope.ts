import type { StatusSnapshot } from '../../../shared/api.js';
import { BROKEN_HEALTH } from '../../../shared/domain.js';
import { compareNames, indexSnapshot } from '../state/derive.js';

/**
 * Who signs in and which organisations to tick, named exactly. Xero's consent page lists every organisation
 * the person can reach (often ten or more), so "tick the organisations" leaves the advisor guessing; these
 * helpers turn ids from main into the names the window shows, and say who could take over a colleague's
 * clients — only from what Relink's last check saw, never from a guess.
 */

/** Organisation names for ids, in name order (an id the snapshot does not know is skipped). */
export function orgNames(snapshot: StatusSnapshot | null, tenantIds: readonly string[]): string[] {
  if (!snapshot) return [];
  const index = indexSnapshot(snapshot);
  return [...new Set(tenantIds)]
    .map((t) => index.rowsById.get(t)?.name)
    .filter((n): n is string => Boolean(n))
    .sort(compareNames);
}

/** "Jane Doe (jane@firm.example)", the way the sign-in page lists people; null when Relink does not know them. */
export function staffLabel(snapshot: StatusSnapshot | null, staffId: string | null | undefined): string | null {
  if (!snapshot || !staffId) return null;
  const s = indexSnapshot(snapshot).staffById.get(staffId);
  if (!s) return null;
  return s.name && s.email ? `${s.name} (${s.email})` : s.name || s.email;
}

export interface Candidate {
  staffId: string;
  name: string;
  /** How many of the organisations asked about this person reaches through a working connection. */
  reaches: number;
}

/**
 * Active staff members other than `exclude` whose own connections (any app) to these organisations were
 * working at the last check: Xero listed the organisation under their sign-in, so they had access to it then.
 * Most organisations first. It is evidence, not a promise: their access may have changed since.
 */
export function takeoverCandidates(snapshot: StatusSnapshot | null, tenantIds: readonly string[], exclude: string | null): Candidate[] {
  if (!snapshot) return [];
  const index = indexSnapshot(snapshot);
  const wanted = new Set(tenantIds);
  const reach = new Map<string, Set<string>>();
  for (const c of snapshot.connections) {
    if (!wanted.has(c.orgId) || c.staffId === exclude || BROKEN_HEALTH.has(c.health)) continue;
    if (index.staffById.get(c.staffId)?.status !== 'active') continue;
    const set = reach.get(c.staffId) ?? new Set<string>();
    set.add(c.orgId);
    reach.set(c.staffId, set);
  }
  return [...reach]
    .map(([staffId, orgs]) => {
      const s = index.staffById.get(staffId)!;
      return { staffId, name: s.name || s.email, reaches: orgs.size };
    })
    .sort((a, b) => b.reaches - a.reaches || compareNames(a.name, b.name));
}

/** "A", "A and B", "A, B and C". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "Aroha Ngata (all 3)", "Priya Patel (1 of 3)". */
export function candidateWords(candidates: readonly Candidate[], of: number): string {
  return listWords(candidates.map((c) => `${c.name} (${c.reaches === of ? (of === 1 ? 'has it' : `all ${of}`) : `${c.reaches} of ${of}`})`));
}
