import type { App, Cause, Connection, FixAction, Grant, Health, Incident, Organisation, Settings, StaffMember } from '../../shared/domain.js';
import type { Offboarding, PasswordChange, StaffRef, TrackedConnection } from '../../shared/workflows.js';

/**
 * What the firm workflows read: the stored facts plus the health verdicts the engine's assessment gives them.
 * The workflow modules are pure functions of this and the time, so they run under plain Node in unit tests
 * with a hand-built world, and the service builds one from the metadata store and `status()`.
 */
export interface WorkflowWorld {
  apps: Readonly<Record<string, App>>;
  staff: Readonly<Record<string, StaffMember>>;
  organisations: Readonly<Record<string, Organisation>>;
  grants: Readonly<Record<string, Grant>>;
  connections: Readonly<Record<string, Connection>>;
  incidents: Readonly<Record<string, Incident>>;
  tracked: Readonly<Record<string, TrackedConnection>>;
  passwordChanges: Readonly<Record<string, PasswordChange>>;
  offboardings: Readonly<Record<string, Offboarding>>;
  settings: Settings;
  /** Health per connection id and per grant id, as the last assessment judged it. */
  health: {
    connections: Readonly<Record<string, ConnectionHealth>>;
    grants: Readonly<Record<string, { health: Health; cause: Cause | null }>>;
  };
  now: number;
}

export interface ConnectionHealth {
  health: Health;
  cause: Cause | null;
  fixAction: FixAction | null;
}

export const UNVERIFIED: ConnectionHealth = { health: 'unverified', cause: null, fixAction: null };

/** A staff member by id or email (case-insensitive), as people type them. */
export function findStaff(staff: Readonly<Record<string, StaffMember>>, ref: string): StaffMember | undefined {
  const wanted = ref.trim().toLowerCase();
  if (!wanted) return undefined;
  const byId = staff[ref.trim()];
  if (byId) return byId;
  return Object.values(staff).find((s) => s.id.toLowerCase() === wanted || (s.email !== '' && s.email.toLowerCase() === wanted));
}

export function staffRef(s: StaffMember): StaffRef {
  return { id: s.id, email: s.email, name: s.name || s.email || s.id };
}

/** "Jane Doe" or, without a name, the email; for sentences. */
export function staffName(world: Pick<WorkflowWorld, 'staff'>, idOrEmail: string | null): string {
  if (!idOrEmail) return 'a staff member';
  const s = findStaff(world.staff, idOrEmail);
  return s ? s.name || s.email || s.id : idOrEmail;
}

export function appName(world: Pick<WorkflowWorld, 'apps'>, appId: string): string {
  return world.apps[appId]?.name ?? appId;
}

export function orgName(world: Pick<WorkflowWorld, 'organisations'>, tenantId: string): string {
  return world.organisations[tenantId]?.name || tenantId;
}

/** Whether `createdBy` (a staff id or an email, as recorded for an app) names this staff member. */
export function namesStaff(recorded: string | null, s: StaffMember): boolean {
  if (!recorded) return false;
  const r = recorded.trim().toLowerCase();
  return r === s.id.toLowerCase() || (s.email !== '' && r === s.email.toLowerCase());
}

/** Declared password changes still in force (not withdrawn). */
export function activeDeclarations(world: Pick<WorkflowWorld, 'passwordChanges'>): PasswordChange[] {
  return Object.values(world.passwordChanges).filter((d) => !d.withdrawnAt);
}

/**
 * Who did something, for sentences: the recorded person ("Alex Reid (alex)"), or, for records made before
 * people were recorded, the host it came from.
 */
export function actorWords(by: 'advisor' | 'cli', person: string | undefined | null): string {
  if (person) return by === 'cli' ? `${person}, with the relink command` : person;
  return by === 'cli' ? 'someone using the relink command' : 'an advisor';
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Names in a sentence: "A", "A and B", "A, B and 3 more". */
export function listNames(names: string[], max = 3): string {
  if (names.length <= 1) return names.join('');
  if (names.length <= max) return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export function byName<T>(name: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => name(a).localeCompare(name(b), 'en', { sensitivity: 'base' });
}

/** A day as people read it in reports: "3 Mar 2026" (UTC, so every reader sees the same date). */
export function day(isoTime: string): string {
  return new Date(isoTime).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
}

/**
 * The connections that describe the present: a record missing from its grant's `/connections` is dropped when
 * the same grant reaches the same organisation again under a newer connection id (Xero gives a re-created
 * connection a new id; the engine keeps the old record as history, still marked missing).
 */
export function currentConnections<C extends Connection>(connections: Readonly<Record<string, C>>): C[] {
  const reached = new Set<string>();
  for (const c of Object.values(connections)) if (c.present) reached.add(`${c.grantId}\u0000${c.tenantId}`);
  return Object.values(connections).filter((c) => c.present || !reached.has(`${c.grantId}\u0000${c.tenantId}`));
}
