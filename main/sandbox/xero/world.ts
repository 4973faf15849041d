// Over 500 lines: the emulated Xero world is one model (organisations, users, apps, connections, token chains) whose invariants span all of it.
import type { IdFactory } from './ids.js';
import { opaque } from './ids.js';
import type { SandboxClock } from '../clock.js';
import type { SandboxSettings, Tier } from './settings.js';

/**
 * The Xero world the sandbox emulates: organisations, users and their roles, apps (OAuth clients),
 * connections (user × app × organisation), and refresh-token chains. It holds no HTTP concerns; the
 * identity, API and control routes read and change it through these methods.
 *
 * Model (shared/reference/xero-protocol.md §11): tokens belong to one user and one app, never to an
 * organisation. Each code exchange starts a token *family* (one refresh-token chain). Connections belong to
 * (user, app) and are reachable with any live token of that pair.
 */

export const ROLES = ['adviser', 'standard', 'invoice-only', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

export interface Org {
  tenantId: string;
  name: string;
  tenantType: 'ORGANISATION' | 'PRACTICE';
  createdAt: number;
}

export interface User {
  userId: string;
  /** 32 lowercase hex, the OIDC subject. */
  sub: string;
  email: string;
  givenName: string;
  familyName: string;
  roles: Map<string, Role>;
  passwordChangedAt: number | null;
  createdAt: number;
}

export interface App {
  clientId: string;
  clientSecret: string | null;
  name: string;
  type: 'pkce' | 'web';
  redirectUris: string[];
  /** Scopes the app may request. */
  scopes: string[];
  createdBy: string | null;
  tier: Tier;
  /** An explicit cap overrides the tier's. */
  connectionCap: number | null | undefined;
  multiOrgConsent: boolean;
  createdAt: number;
}

export interface Connection {
  id: string;
  tenantId: string;
  clientId: string;
  userId: string;
  authEventId: string;
  createdAt: number;
  updatedAt: number;
}

export type RevokeReason =
  | 'password-changed'
  | 'user-deleted'
  | 'app-deleted'
  | 'revoked'
  | 'replaced-by-reauthorisation'
  | 'last-connection-removed';

export interface TokenFamily {
  id: string;
  clientId: string;
  userId: string;
  authEventId: string;
  /** Seconds, as in the `auth_time` claim. */
  authTime: number;
  sessionId: string;
  scopes: string[];
  createdAt: number;
  lastRefreshAt: number | null;
  revokedAt: number | null;
  revokedReason: RevokeReason | null;
}

interface RefreshRecord {
  familyId: string;
  issuedAt: number;
  rotatedAt: number | null;
  /** The token the first use of this one produced (for `same-pair` grace semantics). */
  successor: string | null;
}

export interface AuthCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  scopes: string[];
  userId: string;
  authEventId: string;
  authTime: number;
  sessionId: string;
  nonce: string | null;
  expiresAt: number;
  used: boolean;
}

export interface ArrangedConsent {
  userId: string;
  tenantIds: string[];
  decision: 'allow' | 'deny';
}

/** Third-party apps connected in an organisation whose tokens nobody here holds (payroll, receipts…). */
export interface ThirdPartyConnection {
  tenantId: string;
  appName: string;
  authorisedBy: string;
}

/** A failure the caller turns into Xero's response; `code` is machine-readable, `message` is for people. */
export class WorldError extends Error {
  constructor(
    readonly code: 'not-found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

export type RefreshOutcome =
  | { ok: true; family: TokenFamily; refreshToken: string; graceReuse: boolean }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' | 'rotated-out' | 'client-mismatch' | 'scope-not-granted' };

const DAY_MS = 86_400_000;

const SURVIVES_IN_ACCESS_TOKENS = new Set<RevokeReason>(['last-connection-removed', 'replaced-by-reauthorisation']);

export class World {
  readonly orgs = new Map<string, Org>();
  readonly users = new Map<string, User>();
  readonly apps = new Map<string, App>();
  readonly #connections = new Map<string, Connection>();
  /** (user, app) → tenant → connection: `/connections` and consents read this, never a scan of them all. */
  readonly #byPair = new Map<string, Map<string, Connection>>();
  /** app → tenant → how many users connect it: what a tier cap counts. */
  readonly #tenantsByApp = new Map<string, Map<string, number>>();
  readonly families = new Map<string, TokenFamily>();
  readonly thirdParty: ThirdPartyConnection[] = [];
  readonly #refresh = new Map<string, RefreshRecord>();
  readonly #codes = new Map<string, AuthCode>();
  readonly #arranged = new Map<string, ArrangedConsent[]>();
  /** Scopes each user has consented to per app: additive across consents (Xero D-SCOPES). */
  readonly #consentedScopes = new Map<string, Set<string>>();
  /** Access-token ids → family, so revoked families' access tokens stop working too. */
  readonly #accessTokens = new Map<string, { familyId: string; exp: number }>();

  constructor(
    /** Seeds swap in a deterministic factory while they build the world, then put the random one back. */
    public ids: IdFactory,
    private readonly clock: SandboxClock,
    private readonly settings: () => SandboxSettings,
  ) {}

  // ── organisations, users, roles ────────────────────────────────────────────────────────────────────

  addOrg(name: string, tenantType: Org['tenantType'] = 'ORGANISATION'): Org {
    const org: Org = { tenantId: this.ids.uuid(`org:${name}`), name, tenantType, createdAt: this.clock.now() };
    if (this.orgs.has(org.tenantId)) throw new WorldError('conflict', `An organisation named "${name}" already exists.`);
    this.orgs.set(org.tenantId, org);
    return org;
  }

  addUser(input: { email: string; givenName: string; familyName: string }): User {
    const email = input.email.trim().toLowerCase();
    for (const u of this.users.values()) {
      if (u.email === email) throw new WorldError('conflict', `A user with email ${email} already exists.`);
    }
    const user: User = {
      userId: this.ids.uuid(`user:${email}`),
      sub: this.ids.hex32(`sub:${email}`),
      email,
      givenName: input.givenName,
      familyName: input.familyName,
      roles: new Map(),
      passwordChangedAt: null,
      createdAt: this.clock.now(),
    };
    this.users.set(user.userId, user);
    return user;
  }

  org(tenantId: string): Org {
    const org = this.orgs.get(tenantId);
    if (!org) throw new WorldError('not-found', `No organisation with tenantId ${tenantId}.`);
    return org;
  }

  user(userId: string): User {
    const user = this.users.get(userId);
    if (!user) throw new WorldError('not-found', `No user with userId ${userId}.`);
    return user;
  }

  app(clientId: string): App {
    const app = this.apps.get(clientId);
    if (!app) throw new WorldError('not-found', `No app with clientId ${clientId}.`);
    return app;
  }

  userByEmail(email: string): User | undefined {
    const wanted = email.trim().toLowerCase();
    for (const u of this.users.values()) if (u.email === wanted) return u;
    return undefined;
  }

  setRole(userId: string, tenantId: string, role: Role): void {
    this.org(tenantId);
    this.user(userId).roles.set(tenantId, role);
  }

  /** The user loses access to the organisation, so every connection they made to it goes. */
  removeUserFromOrg(userId: string, tenantId: string): number {
    const user = this.user(userId);
    this.org(tenantId);
    if (!user.roles.delete(tenantId)) {
      throw new WorldError('not-found', `User ${user.email} is not a member of organisation ${tenantId}.`);
    }
    return this.#removeConnections((c) => c.userId === userId && c.tenantId === tenantId);
  }

  /** Deleting a Xero user deletes the apps they created in the developer portal too. */
  deleteUser(userId: string): { appsDeleted: string[] } {
    this.user(userId);
    this.#revokeFamilies((f) => f.userId === userId, 'user-deleted');
    this.#removeConnections((c) => c.userId === userId);
    const appsDeleted = [...this.apps.values()].filter((a) => a.createdBy === userId).map((a) => a.clientId);
    for (const clientId of appsDeleted) this.deleteApp(clientId);
    this.users.delete(userId);
    return { appsDeleted };
  }

  changePassword(userId: string): { familiesRevoked: number } {
    const user = this.user(userId);
    user.passwordChangedAt = this.clock.now();
    if (!this.settings().passwordChangeRevokesGrants) return { familiesRevoked: 0 };
    return { familiesRevoked: this.#revokeFamilies((f) => f.userId === userId, 'password-changed') };
  }

  // ── apps ───────────────────────────────────────────────────────────────────────────────────────────

  addApp(input: Omit<App, 'clientId' | 'clientSecret' | 'createdAt'>): App {
    if (input.createdBy !== null) this.user(input.createdBy);
    const app: App = {
      ...input,
      clientId: this.ids.clientId(`app:${input.name}`),
      clientSecret: input.type === 'web' ? opaque(36) : null,
      createdAt: this.clock.now(),
    };
    if (this.apps.has(app.clientId)) throw new WorldError('conflict', `An app named "${input.name}" already exists.`);
    this.apps.set(app.clientId, app);
    return app;
  }

  rotateSecret(clientId: string): string {
    const app = this.app(clientId);
    if (app.type !== 'web') {
      throw new WorldError('invalid', `App "${app.name}" uses PKCE and has no client secret to rotate.`);
    }
    app.clientSecret = opaque(36);
    return app.clientSecret;
  }

  deleteApp(clientId: string): void {
    this.app(clientId);
    this.#revokeFamilies((f) => f.clientId === clientId, 'app-deleted');
    this.#removeConnections((c) => c.clientId === clientId);
    for (const [code, c] of this.#codes) if (c.clientId === clientId) this.#codes.delete(code);
    this.#arranged.delete(clientId);
    this.apps.delete(clientId);
  }

  connectionCap(app: App): number | null {
    return app.connectionCap !== undefined ? app.connectionCap : this.settings().tierCaps[app.tier];
  }

  get connections(): ReadonlyMap<string, Connection> {
    return this.#connections;
  }

  /** Distinct organisations the app is connected to, across all users: what a tier cap counts. */
  connectedTenants(clientId: string): ReadonlySet<string> {
    return new Set(this.#tenantsByApp.get(clientId)?.keys());
  }

  // ── consents and connections ───────────────────────────────────────────────────────────────────────

  arrangeConsent(clientId: string, consent: ArrangedConsent): void {
    const app = this.app(clientId);
    const user = this.user(consent.userId);
    if (consent.decision === 'allow') {
      if (!app.multiOrgConsent && consent.tenantIds.length > 1) {
        throw new WorldError(
          'invalid',
          `App "${app.name}" does not have multi-organisation consent: arrange one organisation per consent.`,
        );
      }
      for (const tenantId of consent.tenantIds) {
        this.org(tenantId);
        if (!user.roles.has(tenantId)) {
          throw new WorldError('invalid', `User ${user.email} has no role in organisation ${tenantId}.`);
        }
      }
    }
    const queue = this.#arranged.get(clientId) ?? [];
    queue.push(consent);
    this.#arranged.set(clientId, queue);
  }

  takeArrangedConsent(clientId: string): ArrangedConsent | undefined {
    const queue = this.#arranged.get(clientId);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.#arranged.delete(clientId);
    return next;
  }

  arrangedCount(): number {
    let n = 0;
    for (const q of this.#arranged.values()) n += q.length;
    return n;
  }

  /**
   * Tenants a consent would newly connect beyond the app's cap. Organisations already connected to the app
   * never count against it again.
   */
  tenantsOverCap(clientId: string, tenantIds: string[]): string[] {
    const app = this.app(clientId);
    const cap = this.connectionCap(app);
    if (cap === null) return [];
    const connected = this.connectedTenants(clientId);
    const fresh = tenantIds.filter((t) => !connected.has(t));
    const room = Math.max(0, cap - connected.size);
    return fresh.slice(room);
  }

  /**
   * Records a consent: a new authentication event, connections created or refreshed for the ticked
   * organisations, and scopes added to what this user already granted this app.
   */
  recordConsent(clientId: string, userId: string, tenantIds: string[], scopes: string[]): string {
    const now = this.clock.now();
    const authEventId = this.ids.uuid();
    const moveToNewEvent = this.settings().reauthUpdatesAuthEventId;
    for (const tenantId of tenantIds) {
      const existing = this.#findConnection(clientId, userId, tenantId);
      if (existing) {
        existing.updatedAt = now;
        if (moveToNewEvent) existing.authEventId = authEventId;
      } else {
        this.#addConnection({ id: this.ids.uuid(), tenantId, clientId, userId, authEventId, createdAt: now, updatedAt: now });
      }
    }
    const key = `${userId}|${clientId}`;
    const granted = this.#consentedScopes.get(key) ?? new Set<string>();
    for (const s of scopes) granted.add(s);
    this.#consentedScopes.set(key, granted);
    return authEventId;
  }

  consentedScopes(userId: string, clientId: string): string[] {
    return [...(this.#consentedScopes.get(`${userId}|${clientId}`) ?? [])];
  }

  /** The user's connections to the app, oldest first (Xero lists them in the order they were made). */
  connectionsOf(userId: string, clientId: string): Connection[] {
    return [...(this.#byPair.get(`${userId}|${clientId}`)?.values() ?? [])].sort(
      (a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id),
    );
  }

  deleteConnection(id: string): void {
    this.#removeConnections((c) => c.id === id);
  }

  /** An organisation's admin removes the app under Settings → Connected Apps: every user's link goes. */
  disconnectAppInOrg(tenantId: string, clientId: string): number {
    this.org(tenantId);
    this.app(clientId);
    const removed = this.#removeConnections((c) => c.tenantId === tenantId && c.clientId === clientId);
    if (removed === 0) throw new WorldError('not-found', `That app is not connected to organisation ${tenantId}.`);
    return removed;
  }

  #findConnection(clientId: string, userId: string, tenantId: string): Connection | undefined {
    return this.#byPair.get(`${userId}|${clientId}`)?.get(tenantId);
  }

  #addConnection(c: Connection): void {
    this.#connections.set(c.id, c);
    const pair = `${c.userId}|${c.clientId}`;
    const byTenant = this.#byPair.get(pair) ?? new Map<string, Connection>();
    byTenant.set(c.tenantId, c);
    this.#byPair.set(pair, byTenant);
    const tenants = this.#tenantsByApp.get(c.clientId) ?? new Map<string, number>();
    tenants.set(c.tenantId, (tenants.get(c.tenantId) ?? 0) + 1);
    this.#tenantsByApp.set(c.clientId, tenants);
  }

  #dropConnection(c: Connection): void {
    this.#connections.delete(c.id);
    const pair = `${c.userId}|${c.clientId}`;
    const byTenant = this.#byPair.get(pair);
    byTenant?.delete(c.tenantId);
    if (byTenant?.size === 0) this.#byPair.delete(pair);
    const tenants = this.#tenantsByApp.get(c.clientId);
    const left = (tenants?.get(c.tenantId) ?? 1) - 1;
    if (left > 0) tenants!.set(c.tenantId, left);
    else tenants?.delete(c.tenantId);
    if (tenants?.size === 0) this.#tenantsByApp.delete(c.clientId);
  }

  #removeConnections(match: (c: Connection) => boolean): number {
    const touched = new Set<string>();
    let removed = 0;
    for (const c of [...this.#connections.values()]) {
      if (!match(c)) continue;
      this.#dropConnection(c);
      touched.add(`${c.userId}|${c.clientId}`);
      removed++;
    }
    if (this.settings().lastConnectionRemovalRevokesGrant) {
      for (const key of touched) {
        const [userId, clientId] = key.split('|') as [string, string];
        if (this.#byPair.has(key)) continue;
        this.#revokeFamilies((f) => f.userId === userId && f.clientId === clientId, 'last-connection-removed');
      }
    }
    return removed;
  }

  // ── codes and token families ───────────────────────────────────────────────────────────────────────

  issueCode(code: Omit<AuthCode, 'expiresAt' | 'used'>): string {
    const value = opaque(32);
    this.#codes.set(value, { ...code, expiresAt: this.clock.now() + this.settings().codeSeconds * 1000, used: false });
    return value;
  }

  /** Codes are single use: the first redemption, right or wrong, burns it. */
  redeemCode(value: string): AuthCode | 'unknown' | 'used' | 'expired' {
    const code = this.#codes.get(value);
    if (!code) return 'unknown';
    if (code.used) return 'used';
    code.used = true;
    if (this.clock.now() > code.expiresAt) return 'expired';
    return code;
  }

  startFamily(code: AuthCode): TokenFamily {
    if (!this.settings().reauthKeepsOldRefreshToken) {
      this.#revokeFamilies(
        (f) => f.userId === code.userId && f.clientId === code.clientId,
        'replaced-by-reauthorisation',
      );
    }
    const family: TokenFamily = {
      id: this.ids.uuid(),
      clientId: code.clientId,
      userId: code.userId,
      authEventId: code.authEventId,
      authTime: code.authTime,
      sessionId: code.sessionId,
      scopes: code.scopes,
      createdAt: this.clock.now(),
      lastRefreshAt: null,
      revokedAt: null,
      revokedReason: null,
    };
    this.families.set(family.id, family);
    return family;
  }

  issueRefreshToken(familyId: string): string {
    const token = opaque(32);
    this.#refresh.set(token, { familyId, issuedAt: this.clock.now(), rotatedAt: null, successor: null });
    return token;
  }

  /**
   * Rotation with a grace window: a current token yields a new one; a rotated token is still accepted for
   * `graceSeconds` after its first use (the lost-response case); an unused token dies after
   * `refreshTokenIdleDays`.
   */
  useRefreshToken(token: string, clientId: string, requestedScopes: string[] = []): RefreshOutcome {
    const record = this.#refresh.get(token);
    if (!record) return { ok: false, reason: 'unknown' };
    const family = this.families.get(record.familyId);
    if (!family) return { ok: false, reason: 'unknown' };
    if (family.clientId !== clientId) return { ok: false, reason: 'client-mismatch' };
    if (family.revokedAt !== null) return { ok: false, reason: 'revoked' };
    const now = this.clock.now();
    const s = this.settings();
    const fresh = record.rotatedAt === null;
    if (fresh && now - record.issuedAt > s.refreshTokenIdleDays * DAY_MS) return { ok: false, reason: 'expired' };
    if (!fresh && now - record.rotatedAt! > s.graceSeconds * 1000) return { ok: false, reason: 'rotated-out' };
    // Only a token that would otherwise be accepted can be told its scope is wrong, and that refusal must not
    // use it up.
    if (requestedScopes.some((sc) => !family.scopes.includes(sc))) return { ok: false, reason: 'scope-not-granted' };
    family.lastRefreshAt = now;
    if (fresh) {
      record.rotatedAt = now;
      record.successor = this.issueRefreshToken(family.id);
      return { ok: true, family, refreshToken: record.successor, graceReuse: false };
    }
    if (s.graceReuse === 'same-pair' && record.successor) {
      return { ok: true, family, refreshToken: record.successor, graceReuse: true };
    }
    return { ok: true, family, refreshToken: this.issueRefreshToken(family.id), graceReuse: true };
  }

  /** RFC 7009 revocation as Xero does it: the token dies and the user's connections to the app go. */
  revokeByRefreshToken(token: string, clientId: string): boolean {
    const record = this.#refresh.get(token);
    const family = record && this.families.get(record.familyId);
    if (!family || family.clientId !== clientId) return false;
    const { userId } = family;
    this.#revokeFamilies((f) => f.userId === userId && f.clientId === clientId, 'revoked');
    this.#removeConnections((c) => c.userId === userId && c.clientId === clientId);
    return true;
  }

  #revokeFamilies(match: (f: TokenFamily) => boolean, reason: RevokeReason): number {
    let n = 0;
    const now = this.clock.now();
    for (const f of this.families.values()) {
      if (f.revokedAt !== null || !match(f)) continue;
      f.revokedAt = now;
      f.revokedReason = reason;
      n++;
    }
    return n;
  }

  // ── access tokens ──────────────────────────────────────────────────────────────────────────────────

  rememberAccessToken(jti: string, familyId: string, exp: number): void {
    this.#accessTokens.set(jti, { familyId, exp });
    // Keep memory flat under long benchmarks: forget tokens that expired more than an hour ago.
    if (this.#accessTokens.size % 1024 === 0) {
      const cutoff = this.clock.nowSeconds() - 3600;
      for (const [k, v] of this.#accessTokens) if (v.exp < cutoff) this.#accessTokens.delete(k);
    }
  }

  /**
   * The family behind a still-valid access token, or null when the token must be refused. Access tokens are
   * self-contained JWTs: losing every connection, or the chain being replaced by a newer consent, leaves them
   * working until they expire (they then see `[]` and 403s, Xero-OpenAPI#585). Revocation (RFC 7009 §2.1
   * says the server SHOULD also invalidate access tokens of the grant), a password change, or the user or app
   * being deleted stops them at once.
   */
  familyForAccessToken(jti: string): TokenFamily | null {
    const entry = this.#accessTokens.get(jti);
    const family = entry && this.families.get(entry.familyId);
    if (!family || !this.users.has(family.userId) || !this.apps.has(family.clientId)) return null;
    return family.revokedReason === null || SURVIVES_IN_ACCESS_TOKENS.has(family.revokedReason) ? family : null;
  }
}
