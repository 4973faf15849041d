import { z } from 'zod';
import { connectReportSchema } from './connect-report.js';
import {
  auditReportSchema,
  passwordChangePreviewSchema,
  reconnectPlanSchema,
  reconnectRunViewSchema,
  trackedImportPreviewSchema,
  trackedImportResultSchema,
  trackedInputSchema,
  trackedViewSchema,
} from './workflows.js';
import {
  activityEntrySchema,
  CAUSES,
  CONFIDENCES,
  explanationSchema,
  FIX_ACTIONS,
  fixSchema,
  HEALTH_STATES,
  settingsSchema,
  STAFF_STATUSES,
} from './domain.js';

/**
 * The API contract between Relink's service and its hosts (the CLI today; the Electron window and browser
 * mode next). Every payload that leaves the main process is validated against these schemas, and none of them
 * has a field that could carry a token or secret.
 */

const iso = z.iso.datetime({ offset: true });

export const statusSnapshotSchema = z
  .object({
    generatedAt: iso,
    keychain: z.enum(['available', 'locked', 'unavailable', 'not-answering']),
    apps: z.array(
      z
        .object({
          id: z.string(),
          name: z.string(),
          clientId: z.string(),
          authType: z.enum(['pkce', 'web']),
          connectionCap: z.number().int().nullable(),
          connectionCount: z.number().int(),
          multiOrgConsent: z.boolean(),
          createdBy: z.string().nullable(),
          credentialState: z.enum(['ok', 'rejected', 'unchecked']),
        })
        .strict(),
    ),
    staff: z.array(
      z.object({ id: z.string(), email: z.string(), name: z.string(), status: z.enum(STAFF_STATUSES) }).strict(),
    ),
    grants: z.array(
      z
        .object({
          id: z.string(),
          appId: z.string(),
          staffId: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          lastRefreshAt: iso.nullable(),
          refreshTokenExpiresAt: iso,
          daysLeft: z.number().int(),
          lastFailure: z.string().nullable(),
        })
        .strict(),
    ),
    connections: z.array(
      z
        .object({
          id: z.string(),
          appId: z.string(),
          orgId: z.string(),
          orgName: z.string(),
          grantId: z.string(),
          staffId: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          confidence: z.enum(CONFIDENCES).nullable(),
          since: iso.nullable(),
          fix: z.string().nullable(),
          fixAction: z.enum(FIX_ACTIONS).nullable(),
          /** The open incident this connection belongs to, if any (its evidence explains the cause). */
          incidentId: z.string().nullable(),
        })
        .strict(),
    ),
    incidents: z.array(
      z
        .object({
          id: z.string(),
          cause: z.enum(CAUSES),
          confidence: z.enum(CONFIDENCES),
          staffId: z.string().nullable(),
          appId: z.string().nullable(),
          connectionCount: z.number().int(),
          organisationCount: z.number().int(),
          summary: z.string(),
          evidence: z.array(z.string()),
          fix: fixSchema,
          openedAt: iso,
          tenantIds: z.array(z.string()),
        })
        .strict(),
    ),
    settings: settingsSchema,
    /** Last estimate of Xero's clock minus ours, when one was taken. */
    clockSkewMs: z.number().nullable(),
  })
  .strict();
export type StatusSnapshot = z.infer<typeof statusSnapshotSchema>;

/**
 * The status as a window keeps it: a snapshot and the version main gave it. Versions rise by one with every
 * change main pushes; `status.get` answers the current one (and pushes its change to every window first).
 */
export const versionedStatusSchema = statusSnapshotSchema.extend({ version: z.number().int().min(0) }).strict();
export type VersionedStatus = z.infer<typeof versionedStatusSchema>;

/**
 * One collection of the status, changed, each part present only when not empty: entries added (whole, in the
 * snapshot's order; one with a known id replaces it whole), entries changed (their id and the fields that
 * changed), entries changed alike (the same fields to the same values: a refreshed sign-in's connections all
 * get its new `since`), the ids of entries gone, and the ids in their new order only when removing, changing in
 * place and appending the new ones at the end would not give it.
 */
function collectionDeltaSchema<S extends z.ZodRawShape & { id: z.ZodString }>(entry: z.ZodObject<S, z.core.$strict>) {
  // (S has an id, so the mask's second half is empty; TypeScript cannot see that for a generic S.)
  const fields = entry.omit({ id: true } as { id: true } & Record<Exclude<'id', keyof S>, never>).partial();
  return z
    .object({
      upsert: z.array(entry).optional(),
      patch: z.array(entry.partial().extend({ id: z.string() }).strict()).optional(),
      patchAlike: z.array(z.object({ ids: z.array(z.string()).min(2), set: fields }).strict()).optional(),
      remove: z.array(z.string()).optional(),
      order: z.array(z.string()).optional(),
    })
    .strict();
}
const statusShape = statusSnapshotSchema.shape;

/**
 * What changed in the status since version `baseVersion`, making it version `version` (always base + 1). A
 * window that holds another version missed one and asks for the whole picture (`status.get`) instead. Only the
 * parts that changed are present; `generatedAt` always is (the time of the newer picture).
 */
export const statusDeltaSchema = z
  .object({
    version: z.number().int().min(1),
    baseVersion: z.number().int().min(0),
    generatedAt: iso,
    keychain: statusShape.keychain.optional(),
    apps: collectionDeltaSchema(statusShape.apps.element).optional(),
    staff: collectionDeltaSchema(statusShape.staff.element).optional(),
    grants: collectionDeltaSchema(statusShape.grants.element).optional(),
    connections: collectionDeltaSchema(statusShape.connections.element).optional(),
    incidents: collectionDeltaSchema(statusShape.incidents.element).optional(),
    settings: statusShape.settings.optional(),
    clockSkewMs: statusShape.clockSkewMs.optional(),
  })
  .strict();
export type StatusDelta = z.infer<typeof statusDeltaSchema>;
/** The status's collections a delta names entries of, by id. */
export const STATUS_COLLECTIONS = ['apps', 'staff', 'grants', 'connections', 'incidents'] as const;
/** The status's other fields a delta carries when they changed (`generatedAt` it always carries). */
export const STATUS_FIELDS = ['keychain', 'settings', 'clockSkewMs'] as const;

export const addAppInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the app a name.').max(200),
    clientId: z.string().trim().min(1, 'The client id is required (Xero developer portal → My Apps → your app → Configuration).').max(200),
    authType: z.enum(['pkce', 'web']),
    issuer: z.url().optional(),
    apiBase: z.url().optional(),
    redirectPorts: z.array(z.number().int().min(1024).max(65_535)).min(1).max(20).optional(),
    scopes: z.array(z.string().regex(/^[a-z_.]+$/i, 'Scopes are words like accounting.settings, separated by spaces.')).min(1).optional(),
    connectionCap: z.number().int().min(0).nullable().optional(),
    multiOrgConsent: z.boolean().optional(),
    createdBy: z.string().nullable().optional(),
  })
  .strict();
export type AddAppInput = z.infer<typeof addAppInputSchema>;

/** Defined in its own module so shared/workflows.ts can use it without an import cycle through this file. */
export { connectReportSchema };
export type ConnectReport = z.infer<typeof connectReportSchema>;

// ── the request/event contract the renderer uses (Electron IPC and browser mode's WebSocket) ──────────────

/** Every failure crosses the bridge as a value with one of these codes, never as a thrown error. */
export const API_ERROR_CODES = [
  'usage',
  'not-found',
  'keychain',
  'unreachable',
  'not-authorised',
  'rejected',
  /** The arguments did not match the channel's schema. */
  'invalid-arguments',
  /** No such channel. */
  'unknown-channel',
  /** The message came from a frame or connection that is not Relink's own window. */
  'forbidden',
  /** A bug: the message says what to report; the details are in the main process log. */
  'internal',
  /** No room on the disk (ENOSPC, EDQUOT, EFBIG): the message says what was kept and what to do. */
  'disk-full',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];
export const apiErrorSchema = z.object({ code: z.enum(API_ERROR_CODES), message: z.string() }).strict();
export type ApiError = z.infer<typeof apiErrorSchema>;
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

const empty = z.object({}).strict();
const idArg = z.string().min(1).max(200);

export const sessionSchema = z
  .object({
    host: z.enum(['electron', 'browser']),
    version: z.string(),
    /** No app is set up yet: the window offers "add your Xero app" or "explore the demo". */
    firstRun: z.boolean(),
    /** Running against the built-in sandbox with the demo firm; automatic refreshing is paused. */
    demo: z.boolean(),
    /** Whether the engine keeps grants alive on its own (false in demo mode until the advisor checks). */
    engineRunning: z.boolean(),
    /** The demo runs without a keychain: its sandbox sign-ins are held in memory for this run only. */
    secretsInMemory: z.boolean().default(false),
    /** The profile's keychain cannot be used: what is missing on this operating system and how to get it. */
    keychainHelp: z.object({ title: z.string(), text: z.string(), steps: z.array(z.string()) }).strict().nullable().default(null),
  })
  .strict();
export type Session = z.infer<typeof sessionSchema>;

export const appSummarySchema = statusSnapshotSchema.shape.apps.element;
export type AppSummary = z.infer<typeof appSummarySchema>;

export const passSummarySchema = z
  .object({
    grants: z.number().int(),
    refreshed: z.number().int(),
    transient: z.number().int(),
    revoked: z.number().int(),
    appRejected: z.number().int(),
    probed: z.number().int(),
  })
  .strict();
export type PassSummaryView = z.infer<typeof passSummarySchema>;

/** A consent in the system browser, followed from start to the organisations it brought back. */
export const OPERATION_STATES = ['waiting-for-approval', 'verifying', 'succeeded', 'failed', 'cancelled'] as const;
export const operationSchema = z
  .object({
    id: z.string(),
    /** A plain consent, one step of a reconnect plan, or moving a leaver's connection to another advisor. */
    kind: z.enum(['connect', 'plan-step', 'offboarding-move']),
    /** For a plan step: the run and its item; for a move: the leaver's staff id. */
    runId: z.string().nullable().default(null),
    itemId: z.string().nullable().default(null),
    leaverId: z.string().nullable().default(null),
    /** For plan steps and moves: what came of it (`done`, `partial`, `wrong-person`…) and in words. */
    outcome: z.string().nullable().default(null),
    message: z.string().nullable().default(null),
    appId: z.string(),
    /** The staff member expected to approve (a reconnect), or null for a new connection. */
    staffId: z.string().nullable(),
    /** The organisation the advisor pressed Reconnect on, if any. */
    tenantId: z.string().nullable(),
    /**
     * The organisations to tick on Xero's page (known once the sign-in starts): the ones this consent should
     * bring back that are not working now. Xero's page lists every organisation the person can reach, so the
     * window names these. Empty when Relink cannot know (a first connection).
     */
    tenantIds: z.array(z.string()).default([]),
    state: z.enum(OPERATION_STATES),
    /**
     * The sign-in page, so the advisor can open it again if the browser did not come up. It carries the
     * one-time `state` and PKCE challenge, which are not secrets: the verifier never leaves the main process.
     */
    authorizeUrl: z.url().nullable(),
    startedAt: iso,
    finishedAt: iso.nullable(),
    report: connectReportSchema.nullable(),
    error: apiErrorSchema.nullable(),
  })
  .strict();
export type Operation = z.infer<typeof operationSchema>;

export const incidentEventSchema = z
  .object({ kind: z.enum(['opened', 'recovered']), incidentId: z.string(), summary: z.string() })
  .strict();
export type IncidentEventView = z.infer<typeof incidentEventSchema>;

/** Help pages the window may open in the system browser (main maps each topic to a fixed https URL). */
export const HELP_TOPICS = ['xero-developer-portal', 'xero-pkce-setup', 'xero-scopes', 'xero-limits', 'xero-oauth-troubleshooting'] as const;
export type HelpTopic = (typeof HELP_TOPICS)[number];

// Without the stored schema's defaults: a patch that leaves a field out must not reset it.
export const settingsPatchSchema = settingsSchema.extend({ advisorName: z.string().trim().max(200) }).partial().strict();

/**
 * Every request the renderer may send: its arguments' schema and its result's schema. The main process
 * validates arguments before any handler runs and validates results before they leave, so a handler can
 * never leak a field the contract does not name.
 */
export const API_REQUESTS = {
  'session.get': { args: empty, result: sessionSchema },
  /** The whole status and its version (first load, and a window that missed a delta). */
  'status.get': { args: empty, result: versionedStatusSchema },
  /** Pushes whatever changed now (as a `statusDelta`) and answers the version every window should then hold. */
  'status.sync': { args: empty, result: z.object({ version: z.number().int().min(0) }).strict() },
  'apps.add': {
    args: z.object({ app: addAppInputSchema, clientSecret: z.string().min(1).max(1000).nullable() }).strict(),
    /** The app, and what adding it verified with Xero versus what only the first sign-in can show. */
    result: appSummarySchema.extend({ checks: z.object({ verified: z.array(z.string()), atFirstSignIn: z.array(z.string()) }).strict() }),
  },
  /** Opens the system browser on Xero's consent page; progress arrives as `operation` events. */
  'connect.start': {
    args: z
      .object({
        appId: idArg,
        staffId: idArg.nullable(),
        tenantId: idArg.nullable(),
        /** Organisations this consent is meant to bring back (reported as still missing if it does not). */
        tenantIds: z.array(idArg).max(10_000).optional(),
      })
      .strict(),
    result: operationSchema,
  },
  /** A web app's new client secret (after it was rotated in Xero's developer portal), then a check of its connections. */
  'apps.updateSecret': {
    args: z.object({ appId: idArg, clientSecret: z.string().trim().min(1, 'Paste the client secret.').max(1000) }).strict(),
    result: passSummarySchema,
  },
  'connect.cancel': { args: z.object({ operationId: idArg }).strict(), result: z.object({ cancelled: z.boolean() }).strict() },
  'operations.list': { args: empty, result: z.array(operationSchema) },
  /** Refresh and probe now (all active grants, or one app's, or one staff member's). */
  'check.run': {
    args: z.object({ appId: idArg.optional(), staffId: idArg.optional() }).strict(),
    result: passSummarySchema,
  },
  explain: { args: z.object({ text: z.string().min(1).max(20_000) }).strict(), result: explanationSchema },
  'activity.list': {
    args: z
      .object({
        from: iso.optional(),
        to: iso.optional(),
        action: z.string().max(80).optional(),
        staffId: idArg.optional(),
        appId: idArg.optional(),
        limit: z.number().int().min(1).max(5_000).default(500),
      })
      .strict(),
    result: z.array(activityEntrySchema),
  },
  'settings.update': { args: settingsPatchSchema, result: settingsSchema },
  /** First run: start the built-in sandbox with the demo firm and show it. */
  'demo.start': { args: empty, result: sessionSchema },
  'help.open': { args: z.object({ topic: z.enum(HELP_TOPICS) }).strict(), result: z.object({ opened: z.boolean() }).strict() },

  // ── firm workflows (issue 5) ──
  /** What "Jane changed her Xero password" would do, before anything is recorded (shown to confirm it). */
  'staff.passwordChangePreview': { args: z.object({ staffId: idArg }).strict(), result: passwordChangePreviewSchema },
  /** "Jane changed her Xero password": recorded, and the plan to reconnect what she authorised. */
  'staff.passwordChanged': { args: z.object({ staffId: idArg }).strict(), result: reconnectPlanSchema },
  /** Undo of the above: the declaration is withdrawn (and logged); the plan as it is without it. */
  'staff.withdrawPasswordChange': { args: z.object({ staffId: idArg }).strict(), result: reconnectPlanSchema },
  'staff.setStatus': { args: z.object({ staffId: idArg, status: z.enum(STAFF_STATUSES) }).strict(), result: z.object({ staffId: z.string(), status: z.enum(STAFF_STATUSES) }).strict() },
  /** The consents that would fix what is broken (all staff, or one). */
  'plan.get': { args: z.object({ staffId: idArg.optional() }).strict(), result: reconnectPlanSchema },
  /** Start working through a plan (or carry on with the unfinished one for the same staff member). */
  'plan.start': { args: z.object({ staffId: idArg.optional() }).strict(), result: reconnectRunViewSchema },
  'plan.runs': { args: empty, result: z.array(reconnectRunViewSchema) },
  /** The next consent of a run (or a given one), in the system browser; progress as `operation` events. */
  'plan.runNext': { args: z.object({ runId: idArg, itemId: idArg.optional() }).strict(), result: operationSchema },
  'plan.skip': { args: z.object({ runId: idArg, itemId: idArg, reason: z.string().max(500).optional() }).strict(), result: reconnectRunViewSchema },
  'plan.pause': { args: z.object({ runId: idArg }).strict(), result: reconnectRunViewSchema },
  'plan.resume': { args: z.object({ runId: idArg }).strict(), result: reconnectRunViewSchema },
  'plan.cancel': { args: z.object({ runId: idArg }).strict(), result: reconnectRunViewSchema },
  /** Undo of "Stop this plan": the stopped plan carries on. */
  'plan.reopen': { args: z.object({ runId: idArg }).strict(), result: reconnectRunViewSchema },
  /**
   * Disconnects one organisation from an app in Xero (a connection made by mistake). Cannot be undone: the window
   * asks first.
   */
  'connections.disconnect': {
    args: z.object({ connectionId: idArg }).strict(),
    result: z.object({ appId: z.string(), tenantId: z.string(), organisation: z.string(), removed: z.boolean() }).strict(),
  },
  'tracked.list': { args: empty, result: z.array(trackedViewSchema) },
  'tracked.add': { args: trackedInputSchema, result: trackedViewSchema },
  'tracked.remove': { args: z.object({ id: idArg }).strict(), result: z.object({ removed: z.boolean() }).strict() },
  'tracked.preview': { args: z.object({ csv: z.string().max(5_000_000) }).strict(), result: trackedImportPreviewSchema },
  'tracked.import': { args: z.object({ csv: z.string().max(5_000_000), skipInvalid: z.boolean().default(false) }).strict(), result: trackedImportResultSchema },
  'tracked.export': { args: empty, result: z.object({ fileName: z.string(), csv: z.string() }).strict() },
  'tracked.confirm': { args: z.object({ id: idArg }).strict(), result: trackedViewSchema },
  'tracked.move': { args: z.object({ id: idArg, toStaffId: idArg }).strict(), result: trackedViewSchema },
  /** Everything that depends on a staff member, the plan to move it, and the verdict. */
  'audit.get': { args: z.object({ staffId: idArg }).strict(), result: auditReportSchema },
  'audit.setTarget': { args: z.object({ staffId: idArg, targetStaffId: idArg }).strict(), result: auditReportSchema },
  /** Reconnect one of the leaver's apps as the target advisor; progress as `operation` events. */
  'audit.move': { args: z.object({ staffId: idArg, appId: idArg, tenantId: idArg.optional() }).strict(), result: operationSchema },
  /** The replacement for an app the leaver created; it counts once its organisations are reached through it. */
  'audit.useReplacement': { args: z.object({ staffId: idArg, appId: idArg, replacementAppId: idArg }).strict(), result: auditReportSchema },
  /** The advisor's statement that Xero transferred the app to another login: an override, shown as one. */
  'audit.overrideApp': {
    args: z
      .object({
        staffId: idArg,
        appId: idArg,
        newOwner: z.string().trim().min(1, 'Say which login the app belongs to now.').max(320),
        reason: z.string().trim().min(1, 'Say what you checked: the report shows it with your name.').max(2000),
      })
      .strict(),
    result: auditReportSchema,
  },
  /** Undo of either of the above. */
  'audit.withdrawAppMove': { args: z.object({ staffId: idArg, appId: idArg }).strict(), result: auditReportSchema },
  'audit.csv': { args: z.object({ staffId: idArg }).strict(), result: z.object({ fileName: z.string(), csv: z.string() }).strict() },
  /** The activity log between two times, narrowed by the same filters as the window's list. */
  'activity.exportCsv': {
    args: z
      .object({
        from: z.string().min(10).max(40),
        to: z.string().min(10).max(40),
        action: z.string().max(80).optional(),
        staffId: idArg.optional(),
        appId: idArg.optional(),
      })
      .strict(),
    /** `count` entries, from `first` to `last` (null when there are none): the range really exported. */
    result: z.object({ fileName: z.string(), csv: z.string(), count: z.number().int(), first: iso.nullable(), last: iso.nullable() }).strict(),
  },
  /**
   * Desktop only: save text the window produced (a CSV) where the advisor chooses, or print the window's
   * current report page to PDF. Browser mode answers `usage`: there the window downloads or prints itself.
   */
  'file.save': { args: z.object({ fileName: z.string().min(1).max(200), content: z.string().max(20_000_000) }).strict(), result: z.object({ saved: z.boolean() }).strict() },
  'report.savePdf': { args: z.object({ fileName: z.string().min(1).max(200) }).strict(), result: z.object({ saved: z.boolean() }).strict() },
} as const;

export type RequestChannel = keyof typeof API_REQUESTS;
export type RequestArgs<C extends RequestChannel> = z.input<(typeof API_REQUESTS)[C]['args']>;
export type ParsedRequestArgs<C extends RequestChannel> = z.output<(typeof API_REQUESTS)[C]['args']>;
export type RequestResult<C extends RequestChannel> = z.output<(typeof API_REQUESTS)[C]['result']>;

/** Every event main pushes to the window. */
export const API_EVENTS = {
  /**
   * The whole picture with its version: pushed only when a change touches most of it (another profile opened,
   * the demo started); otherwise changes arrive as `statusDelta`.
   */
  status: versionedStatusSchema,
  /** What changed in the status, pushed after changes (at most about once a second); never sent when nothing did. */
  statusDelta: statusDeltaSchema,
  operation: operationSchema,
  incident: incidentEventSchema,
  session: sessionSchema,
} as const;
export type EventName = keyof typeof API_EVENTS;
export type EventPayload<E extends EventName> = z.output<(typeof API_EVENTS)[E]>;

/**
 * What the renderer sees as `window.relink` (Electron's preload) or builds over the WebSocket (browser mode).
 * `invoke` never rejects for an API failure: it resolves with `{ok: false, error}`.
 */
export interface RelinkBridge {
  invoke<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<ApiResult<RequestResult<C>>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** Wire messages of browser mode's WebSocket (Electron uses two IPC channels with the same shapes). */
export const wireRequestSchema = z
  .object({ type: z.literal('request'), id: z.number().int().min(0), channel: z.string().max(100), args: z.unknown() })
  .strict();
export type WireRequest = z.infer<typeof wireRequestSchema>;
export type WireResponse = { type: 'response'; id: number; result: ApiResult<unknown> };
export type WireEvent = { type: 'event'; event: EventName; payload: unknown };
export const IPC_INVOKE_CHANNEL = 'relink:invoke';
export const IPC_EVENT_CHANNEL = 'relink:event';
