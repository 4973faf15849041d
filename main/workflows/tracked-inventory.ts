import type { Organisation, StaffMember } from '../../shared/domain.js';
import { reconnectUrlProblem, type TrackedConnection } from '../../shared/workflows.js';
import type { Provider } from '../providers/provider.js';
import { findStaff, firmProvider, type ProviderFacts, type WorkflowWorld } from './world.js';

/**
 * The tracked third-party inventory's rules, shared by "add one by hand" and the CSV import, so both accept
 * and refuse exactly the same things with the same words:
 *
 * - organisation: its tenant id, or its name as the provider shows it (case and repeated spaces ignored). A name two
 *   organisations share is refused as ambiguous — the row must use the tenant id.
 * - authoriser: the email (or staff id) of a staff member Relink knows. An unknown email is REFUSED with the
 *   reason, never stored as a loose string: an entry nobody can be matched to could never be flagged when
 *   that person's password changes or they leave, which is the whole point of tracking it. Staff become known
 *   once they have connected an app through Relink.
 * - app: free text (Gusto, Dext, Shopify…), up to 200 characters.
 * - reconnect address: optional; https only, with a host, without credentials.
 * - duplicates: the same organisation, app (case ignored) and authoriser as an existing entry.
 */

export interface TrackedCells {
  organisation: string;
  app: string;
  authorisedBy: string;
  reconnectUrl: string;
  notes: string;
}

export interface ResolvedTracked {
  tenantId: string;
  organisation: string;
  app: string;
  staff: StaffMember;
  reconnectUrl: string | null;
  notes: string;
}

export type Resolution = { ok: true; value: ResolvedTracked } | { ok: false; reasons: string[] };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

const normalise = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

/** `provider`: whose organisations these are, for the words (the firm's: `firmProvider`). */
export function resolveOrganisation(
  orgs: Readonly<Record<string, Organisation>>,
  ref: string,
  provider: Pick<Provider, 'terms'>,
): { ok: true; org: Organisation } | { ok: false; reason: string } {
  const shows = `as ${provider.terms.name} shows it`;
  const text = ref.trim();
  if (!text) return { ok: false, reason: `the organisation is empty: give its name ${shows}, or its tenant id` };
  const byId = orgs[text] ?? Object.values(orgs).find((o) => o.tenantId.toLowerCase() === text.toLowerCase());
  if (byId) return { ok: true, org: byId };
  const wanted = normalise(text);
  const named = Object.values(orgs).filter((o) => normalise(o.name) === wanted);
  if (named.length === 1) return { ok: true, org: named[0]! };
  if (named.length > 1) {
    return {
      ok: false,
      reason:
        `${named.length} organisations are called "${text}" (tenant ids ${named.map((o) => o.tenantId).sort().join(', ')}): ` +
        'put the tenant id in the organisation column instead',
    };
  }
  return {
    ok: false,
    reason:
      `no organisation called "${text}" is known to Relink: use the name exactly ${shows}, or the tenant id ` +
      '(organisations appear in Relink once an app is connected to them)',
  };
}

export function resolveAuthoriser(staff: Readonly<Record<string, StaffMember>>, ref: string): { ok: true; staff: StaffMember } | { ok: false; reason: string } {
  const text = ref.trim();
  if (!text) return { ok: false, reason: 'authorised_by is empty: give the email of the staff member who authorised it' };
  const found = findStaff(staff, text);
  if (found) return { ok: true, staff: found };
  if (!EMAIL.test(text)) return { ok: false, reason: `"${text}" is not an email address: authorised_by takes the email of the staff member who authorised it` };
  return {
    ok: false,
    reason:
      `no staff member with the email ${text} is known to Relink: check the spelling; staff become known once they have ` +
      'connected an app through Relink, so add this row after that',
  };
}

/** Validate one entry's cells against the world. Every problem is reported, not just the first. */
export function resolveTracked(cells: TrackedCells, world: Pick<WorkflowWorld, 'organisations' | 'staff'> & ProviderFacts): Resolution {
  const reasons: string[] = [];
  // An organisation is known by name through the firm's provider (the one its apps answer to).
  const org = resolveOrganisation(world.organisations, cells.organisation, firmProvider(world));
  if (!org.ok) reasons.push(org.reason);
  const app = cells.app.trim();
  if (!app) reasons.push('the app is empty: name the third-party app (e.g. Gusto, Dext, Shopify)');
  else if (app.length > 200) reasons.push('the app name is longer than 200 characters');
  else if (CONTROL.test(app)) reasons.push('the app name contains a line break or control character');
  const who = resolveAuthoriser(world.staff, cells.authorisedBy);
  if (!who.ok) reasons.push(who.reason);
  const url = cells.reconnectUrl.trim();
  const urlProblem = url ? reconnectUrlProblem(url) : null;
  if (urlProblem) reasons.push(urlProblem);
  if (cells.notes.length > 2000) reasons.push('the notes are longer than 2,000 characters');
  if (reasons.length > 0 || !org.ok || !who.ok) return { ok: false, reasons };
  return {
    ok: true,
    value: { tenantId: org.org.tenantId, organisation: org.org.name || org.org.tenantId, app, staff: who.staff, reconnectUrl: url || null, notes: cells.notes },
  };
}

/** Identity of an entry for duplicate detection: organisation, app (case ignored), authoriser. */
export function trackedKey(tenantId: string, app: string, staffId: string): string {
  return `${tenantId}\u0000${normalise(app)}\u0000${staffId}`;
}

/** The keys of the entries already tracked, resolving each authoriser to a staff id where possible. */
export function existingKeys(world: Pick<WorkflowWorld, 'tracked' | 'staff'>): Map<string, TrackedConnection> {
  const out = new Map<string, TrackedConnection>();
  for (const t of Object.values(world.tracked)) {
    const staffId = findStaff(world.staff, t.authorisedBy)?.id ?? t.authorisedBy;
    out.set(trackedKey(t.tenantId, t.app, staffId), t);
  }
  return out;
}

export function newTracked(value: ResolvedTracked, opts: { id: string; now: string; source: 'manual' | 'import' }): TrackedConnection {
  return {
    id: opts.id,
    tenantId: value.tenantId,
    app: value.app,
    authorisedBy: value.staff.id,
    reconnectUrl: value.reconnectUrl,
    notes: value.notes,
    source: opts.source,
    createdAt: opts.now,
    confirmedAt: null,
    confirmedBy: null,
    history: [],
  };
}
