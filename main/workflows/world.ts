import type { App, Cause, Connection, FixAction, Grant, Health, Incident, Organisation, Settings, StaffMember } from '../../shared/domain.js';
import type { Offboarding, PasswordChange, StaffRef, TrackedConnection } from '../../shared/workflows.js';
import type { Provider } from '../providers/provider.js';
import { DEFAULT_PROVIDER, providerOf as registryProviderOf } from '../providers/registry.js';

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
  /**
   * Which provider an app answers to: whose nouns the workflows' sentences use and whose policy (what one
   * consent connects, whether a password change ends every grant, whether an app goes with its creator) they
   * follow. The service passes its host's lookup (the registry's); a world built without one uses the registry.
   */
  providerOf?: ProviderLookup;
}

/** The provider an app belongs to (the registry's `providerOf`, or another lookup with the same contract). */
export type ProviderLookup = (app: Pick<App, 'provider'>) => Provider;

/** The part of a world the provider helpers read. */
export type ProviderFacts = Pick<WorkflowWorld, 'apps'> & Partial<Pick<WorkflowWorld, 'providerOf'>>;

function lookup(world: Partial<Pick<WorkflowWorld, 'providerOf'>>): ProviderLookup {
  return world.providerOf ?? registryProviderOf;
}

/** The provider of one app; for an app Relink no longer knows, the provider new apps get. */
export function appProvider(world: ProviderFacts, appId: string): Provider {
  const app = world.apps[appId];
  return lookup(world)(app ?? { provider: DEFAULT_PROVIDER.id });
}

/**
 * The provider most of these apps answer to (ties go to the provider of the app first by id); with no apps, the
 * provider new apps get. Used where a sentence is about something larger than one app.
 */
function mostUsed(world: ProviderFacts, apps: readonly App[]): Provider {
  const look = lookup(world);
  if (apps.length === 0) return look({ provider: DEFAULT_PROVIDER.id });
  const count = new Map<Provider, number>();
  for (const a of [...apps].sort((x, y) => x.id.localeCompare(y.id))) {
    const p = look(a);
    count.set(p, (count.get(p) ?? 0) + 1);
  }
  // Stable sort: among equal counts the provider seen first (lowest app id) stays first.
  return [...count.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

/**
 * The provider of a person's sign-ins, for sentences about the person (their password change spanning several
 * apps, the login they sign in with). Today every app is Xero's, so there is only one. Should a person's grants
 * span several providers, it is the one most of their grants are with (ties: the app first by id), because a
 * password change is recorded per person, not per provider; someone without grants gets the firm's provider.
 */
export function staffProvider(world: ProviderFacts & Pick<WorkflowWorld, 'grants'>, staffId: string): Provider {
  const apps = Object.values(world.grants)
    .filter((g) => g.staffId === staffId)
    .flatMap((g) => (world.apps[g.appId] ? [world.apps[g.appId]!] : []));
  return apps.length ? mostUsed(world, apps) : firmProvider(world);
}

/**
 * The firm's provider, for sentences about the firm's organisations as a whole ("its name as … shows it"):
 * the one most of its apps answer to (today the only one).
 */
export function firmProvider(world: ProviderFacts): Provider {
  return mostUsed(world, Object.values(world.apps));
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
 * the same grant reaches the same organisation again under a newer connection id (a provider may give a
 * re-created connection a new id, as Xero does; the engine keeps the old record as history, still marked missing).
 */
export function currentConnections<C extends Connection>(connections: Readonly<Record<string, C>>): C[] {
  const reached = new Set<string>();
  for (const c of Object.values(connections)) if (c.present) reached.add(`${c.grantId}\u0000${c.tenantId}`);
  return Object.values(connections).filter((c) => c.present || !reached.has(`${c.grantId}\u0000${c.tenantId}`));
}
