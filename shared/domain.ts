import { z } from 'zod';

/**
 * Relink's vocabulary (DESIGN.md §2 and §4), shared by main, renderer and CLI. Pure types and schemas: no I/O.
 * Everything that crosses a boundary (IPC, WebSocket, CLI JSON, the metadata file) is validated with these.
 * Nothing here may ever hold a token, code, secret or Authorization header.
 */

export const HEALTH_STATES = [
  'healthy',
  'checking',
  'degraded',
  'expiring',
  'needs-reconnect',
  'disconnected',
  'forbidden',
  'app-broken',
  'unverified',
] as const;
export type Health = (typeof HEALTH_STATES)[number];

/** Health states that mean a person must act; `degraded` and `expiring` still work. */
export const BROKEN_HEALTH: ReadonlySet<Health> = new Set(['needs-reconnect', 'disconnected', 'forbidden', 'app-broken']);

export const CAUSES = [
  'password-changed',
  'staff-removed',
  'app-disconnected-in-org',
  'refresh-token-expired',
  'token-replaced',
  'credentials-rotated',
  'app-deleted',
  'role-restricted',
  'scope-missing',
  'clock-skew',
  'rate-limited',
  'provider-outage',
  'network',
  'keychain-unavailable',
  'key-missing',
  'grant-revoked',
] as const;
export type Cause = (typeof CAUSES)[number];

export const CONFIDENCES = ['confirmed', 'likely', 'possible'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

export const STAFF_STATUSES = ['active', 'leaving', 'removed'] as const;
export type StaffStatus = (typeof STAFF_STATUSES)[number];

const isoDate = z.iso.datetime({ offset: true });

/** The accounting platforms Relink connects to; each has its own folder under main/providers/. */
export const PROVIDER_IDS = ['xero'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** An OAuth client the firm controls. Its secret, if any, lives only in the keychain. */
export const appSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1).max(200),
    provider: z.enum(PROVIDER_IDS),
    clientId: z.string().min(1).max(200),
    authType: z.enum(['pkce', 'web']),
    /** OpenID issuer (Xero: https://identity.xero.com; the sandbox: its origin). */
    issuer: z.url(),
    /** Base of the connections and accounting API (Xero: https://api.xero.com). */
    apiBase: z.url(),
    /** Loopback ports registered as redirect URIs, tried in order. */
    redirectPorts: z.array(z.number().int().min(1).max(65_535)).min(1),
    scopes: z.array(z.string().min(1)).min(1),
    connectionCap: z.number().int().min(0).nullable(),
    multiOrgConsent: z.boolean(),
    /** Staff id or email of whoever created the app in Xero's developer portal (deleting them deletes it). */
    createdBy: z.string().nullable(),
    createdAt: isoDate,
  })
  .strict();
export type App = z.infer<typeof appSchema>;

export const staffSchema = z
  .object({
    /** Xero's `xero_userid`. */
    id: z.string().min(1),
    email: z.string(),
    name: z.string(),
    status: z.enum(STAFF_STATUSES),
    firstSeenAt: isoDate,
  })
  .strict();
export type StaffMember = z.infer<typeof staffSchema>;

export const organisationSchema = z
  .object({
    tenantId: z.string().min(1),
    name: z.string(),
    tenantType: z.string(),
    firstSeenAt: isoDate,
  })
  .strict();
export type Organisation = z.infer<typeof organisationSchema>;

/** What went wrong the last time, in a form the health rules read. Never contains a token. */
export const failureSchema = z
  .object({
    kind: z.enum([
      'invalid-grant',
      'invalid-client',
      'unauthorized-client',
      'invalid-scope',
      'rate-limited',
      'server-error',
      'network',
      'timeout',
      'malformed-response',
      'keychain',
      /** The keychain works but holds no key for this grant (removed outside Relink). */
      'key-missing',
      'token-expired',
      'authentication-unsuccessful',
      'forbidden',
      'insufficient-scope',
      'role-restricted',
      'clock-skew',
    ]),
    at: isoDate,
    /** Short human-readable detail, e.g. `400 invalid_grant` or `502 HTML from a proxy`. */
    detail: z.string().max(500),
    httpStatus: z.number().int().optional(),
    retryAt: isoDate.optional(),
  })
  .strict();
export type Failure = z.infer<typeof failureSchema>;

/** Failures that retrying will not cure: someone must reconnect or fix the app. The one list (health, refresher, providers). */
export const TERMINAL_FAILURES: ReadonlySet<Failure['kind']> = new Set(['invalid-grant', 'invalid-client', 'unauthorized-client', 'invalid-scope']);
/** The terminal failures that are the app's, not one sign-in's: its credentials are refused. */
export const APP_REJECTED_FAILURES: ReadonlySet<Failure['kind']> = new Set(['invalid-client', 'unauthorized-client']);

/** One token set: (app, staff member). The refresh token is in the keychain; the access token only in memory. */
export const grantSchema = z
  .object({
    id: z.string().min(1),
    appId: z.string().min(1),
    staffId: z.string().min(1),
    scopes: z.array(z.string()),
    authEventIds: z.array(z.string()),
    connectedAt: isoDate,
    /** When the refresh token now stored was issued: the 60-day inactivity clock starts here. */
    refreshTokenIssuedAt: isoDate,
    lastRefreshAt: isoDate.nullable(),
    lastProbeAt: isoDate.nullable(),
    consecutiveFailures: z.number().int().min(0),
    lastFailure: failureSchema.nullable(),
    /** `revoked`: a parsed invalid_grant after re-reading the store; `app-rejected`: invalid_client. */
    state: z.enum(['active', 'revoked', 'app-rejected']),
    stateSince: isoDate,
  })
  .strict();
export type Grant = z.infer<typeof grantSchema>;

/** A Xero connection (grant × organisation) as `/connections` last reported it, and what Relink saw since. */
export const connectionSchema = z
  .object({
    /** Xero's connection id. */
    id: z.string().min(1),
    appId: z.string().min(1),
    grantId: z.string().min(1),
    staffId: z.string().min(1),
    tenantId: z.string().min(1),
    authEventId: z.string(),
    createdDateUtc: z.string(),
    updatedDateUtc: z.string(),
    /** Whether the last successful `/connections` read listed it. */
    present: z.boolean(),
    lastSeenAt: isoDate,
    missingSince: isoDate.nullable(),
    /** The last failure the API gave for this tenant (403, insufficient_scope…), cleared by a success. */
    lastApiFailure: failureSchema.nullable(),
  })
  .strict();
export type Connection = z.infer<typeof connectionSchema>;

/** What the advisor can press to fix something. */
export const FIX_ACTIONS = ['reconnect', 'reconnect-in-org', 'update-app-credentials', 'wait', 'check-clock', 'unlock-keychain', 'none'] as const;
export type FixAction = (typeof FIX_ACTIONS)[number];

export const fixSchema = z.object({ text: z.string(), action: z.enum(FIX_ACTIONS) }).strict();
export type Fix = z.infer<typeof fixSchema>;

/** One underlying event that broke one or more connections. */
export const incidentSchema = z
  .object({
    id: z.string().min(1),
    /** Identity of the event (cause + who/what), so one event opens one incident. */
    key: z.string().min(1),
    cause: z.enum(CAUSES),
    confidence: z.enum(CONFIDENCES),
    staffId: z.string().nullable(),
    appId: z.string().nullable(),
    tenantIds: z.array(z.string()),
    connectionIds: z.array(z.string()),
    summary: z.string(),
    evidence: z.array(z.string()),
    fix: fixSchema,
    openedAt: isoDate,
    closedAt: isoDate.nullable(),
    /** Set when a just-closed incident came back within minutes: its next recovery is not announced again. */
    reopenedAt: isoDate.nullable().default(null),
  })
  .strict();
export type Incident = z.infer<typeof incidentSchema>;

export const settingsSchema = z
  .object({
    probeIntervalMinutes: z.number().int().min(1).max(24 * 60),
    keepAliveHours: z.number().min(1).max(24 * 30),
    expiringAfterDays: z.number().int().min(1).max(59),
    notifications: z.boolean(),
    /** Printed on audit reports a partner files (CSV and PDF). */
    firmName: z.string().trim().min(1).max(200),
    /**
     * The name of the person using Relink on this computer, recorded with what they do (activity log, reports)
     * next to the computer's user name. Empty: only the computer's user name is recorded.
     */
    advisorName: z.string().trim().max(200).default(''),
  })
  .strict();
export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  probeIntervalMinutes: 15,
  keepAliveHours: 24,
  expiringAfterDays: 45,
  notifications: true,
  firmName: 'Your firm',
  advisorName: '',
};

/** What the explainer says about a pasted error text (fixed sentences only; nothing copied from the input). */
export const explanationSchema = z
  .object({
    /** False when nothing recognisable was found (the explanation is then general guidance). */
    matched: z.boolean(),
    cause: z.enum(CAUSES).nullable(),
    confidence: z.enum(CONFIDENCES),
    title: z.string().min(1),
    whatHappened: z.string().min(1),
    fix: z.string().min(1),
    action: z.enum(FIX_ACTIONS),
    /** Recognised codes, canonical spelling, in a stable order (status numbers first). */
    codes: z.array(z.string()),
  })
  .strict();
export type Explanation = z.infer<typeof explanationSchema>;

const activityId = z.string().min(1).max(200);

/** One line of the activity log: who or what did what, when. Strings are scrubbed of secrets before writing. */
export const activityEntrySchema = z
  .object({
    ts: isoDate,
    actor: z.enum(['engine', 'advisor', 'cli']),
    /**
     * Who, for an advisor's or the CLI's entry: the name set in Settings and the computer's user name
     * ("Alex Reid (alex)"). Absent for the engine, and in entries written before people were recorded.
     */
    person: z.string().min(1).max(300).optional(),
    /** A short verb phrase in kebab case: `grant-refreshed`, `reconnect-started`, `staff-marked-leaving`. */
    action: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[a-z0-9][a-z0-9.-]*$/),
    appId: activityId.optional(),
    grantId: activityId.optional(),
    staffId: activityId.optional(),
    tenantIds: z.array(activityId).max(10_000).optional(),
    detail: z.string().max(2_000).optional(),
  })
  .strict();
export type ActivityEntry = z.infer<typeof activityEntrySchema>;
