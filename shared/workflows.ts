// Over 500 lines: the workflow half of the API contract — one zod schema per payload, kept together so the
// dispatcher, the hosts and the renderer check the same shapes.
import { z } from 'zod';
import { connectReportSchema } from './connect-report.js';
import { CAUSES, HEALTH_STATES, STAFF_STATUSES } from './domain.js';

/**
 * The firm workflows (issue 5): bulk reconnect after a password change, tracked third-party connections, the
 * staff offboarding audit and its reports. Schemas for what is stored in the metadata file and for what
 * crosses a boundary (the CLI's --json, the window's API). Pure: no I/O. Nothing here may hold a token or
 * secret; the only addresses are the https pages where an advisor reconnects a third-party app.
 */

const iso = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(200);
/** Who did it, as the activity log names hosts (there is no per-person login in Relink). */
export const WORKFLOW_ACTORS = ['advisor', 'cli'] as const;
const actor = z.enum(WORKFLOW_ACTORS);
/**
 * Who, in words: the name set in Settings and the computer's user name ("Alex Reid (alex)"). Optional because
 * records written before people were recorded do not have it; they read as "an advisor".
 */
const person = z.string().min(1).max(300);

// ── reconnect addresses ─────────────────────────────────────────────────────────────────────────────

export const MAX_RECONNECT_URL_LENGTH = 2000;

/** The WHATWG URL parser: a global in both runtimes shared/ runs in, typed here since shared/ is checked without the DOM and Node libraries. */
declare class URL {
  constructor(url: string);
  readonly protocol: string;
  readonly hostname: string;
  readonly username: string;
  readonly password: string;
}

/**
 * Why a reconnect address is not acceptable, or null when it is. Only https pages with a host and without
 * credentials: the address is opened in the system browser with one click, so `javascript:`, `file:`, plain
 * http or `https://user:pass@…` must never get in.
 */
export function reconnectUrlProblem(text: string): string | null {
  const value = text.trim();
  if (value.length > MAX_RECONNECT_URL_LENGTH) return `the reconnect address is longer than ${MAX_RECONNECT_URL_LENGTH} characters`;
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'the reconnect address contains spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a web address (it should look like https://app.example.com/settings/xero)`;
  }
  if (url.protocol !== 'https:') return `the reconnect address must start with https:// (got ${url.protocol.replace(/:$/, '')})`;
  if (!url.hostname) return 'the reconnect address has no host name';
  if (url.username || url.password) return 'the reconnect address must not contain a user name or password';
  return null;
}

const reconnectUrl = z
  .string()
  .max(MAX_RECONNECT_URL_LENGTH)
  .superRefine((value, ctx) => {
    const problem = reconnectUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

// ── stored: tracked third-party connections ───────────────────────────────────────────────────────

export const TRACKED_STATES = ['ok', 'needs-reconnect', 'reconnected'] as const;
export type TrackedState = (typeof TRACKED_STATES)[number];

export const trackedEventSchema = z
  .object({
    at: iso,
    /** `reconnected`: the advisor confirmed it works again; `moved`: someone else authorised it now. */
    action: z.enum(['reconnected', 'moved']),
    by: actor,
    person: person.optional(),
    fromStaffId: id.nullable(),
    toStaffId: id.nullable(),
  })
  .strict();
export type TrackedEvent = z.infer<typeof trackedEventSchema>;

/**
 * A third-party app connected to an organisation whose tokens Relink does not hold (payroll, receipts,
 * e-commerce, CRM). Its health is inferred (see main/workflows/tracked-health.ts), never stored: only the
 * advisor's confirmations are, so a state can never go stale.
 */
export const trackedConnectionSchema = z
  .object({
    id,
    tenantId: id,
    app: z.string().trim().min(1).max(200),
    /** The staff id of whoever authorised it in that app (an email only if recorded before they were known). */
    authorisedBy: z.string().min(1).max(320),
    reconnectUrl: reconnectUrl.nullable(),
    notes: z.string().max(2000),
    source: z.enum(['manual', 'import']),
    createdAt: iso,
    /** The last time an advisor confirmed it was reconnected (or moved to another authoriser). */
    confirmedAt: iso.nullable(),
    confirmedBy: actor.nullable(),
    history: z.array(trackedEventSchema).max(200),
  })
  .strict();
export type TrackedConnection = z.infer<typeof trackedConnectionSchema>;

// ── stored: declared password changes ─────────────────────────────────────────────────────────────

/**
 * "Jane changed her Xero password", said by an advisor: every grant she holds is treated as needing a reconnect,
 * until it works again or the advisor withdraws the declaration (kept, marked withdrawn, for the record).
 */
export const passwordChangeSchema = z
  .object({
    id,
    staffId: id,
    declaredAt: iso,
    declaredBy: actor,
    person: person.optional(),
    withdrawnAt: iso.optional(),
    withdrawnBy: actor.optional(),
    withdrawnPerson: person.optional(),
  })
  .strict();
export type PasswordChange = z.infer<typeof passwordChangeSchema>;

// ── stored: reconnect plan runs ───────────────────────────────────────────────────────────────────

export const PLAN_ITEM_STATES = ['pending', 'done', 'skipped', 'failed'] as const;
export type PlanItemState = (typeof PLAN_ITEM_STATES)[number];
export const RUN_STATES = ['running', 'paused', 'complete', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];

const staffRefSchema = z.object({ id: z.string(), email: z.string(), name: z.string() }).strict();
export type StaffRef = z.infer<typeof staffRefSchema>;

/** One consent the advisor gives: one app, one staff member, the organisations it must bring back. */
export const planItemSchema = z
  .object({
    id,
    appId: id,
    staffId: id,
    /** The organisations this consent was planned for. */
    orgIds: z.array(id),
    /** Those not verified back yet: what is still queued. */
    remainingOrgIds: z.array(id),
    /** Verified back through `/connections?authEventId=…`. */
    reconnectedOrgIds: z.array(id),
    /** Ticked although the plan did not ask for them; recorded as connected. */
    extraOrgIds: z.array(id),
    state: z.enum(PLAN_ITEM_STATES),
    /** Why it is still queued, failed or skipped, in the advisor's words. */
    reason: z.string().max(2000).nullable(),
    attempts: z.number().int().min(0),
    lastAttemptAt: iso.nullable(),
    finishedAt: iso.nullable(),
    approvedBy: staffRefSchema.nullable(),
    warning: z.string().max(2000).nullable(),
  })
  .strict();
export type PlanItem = z.infer<typeof planItemSchema>;

/** A plan being worked through; persisted, so a restart resumes it where it was. */
export const reconnectRunSchema = z
  .object({
    id,
    createdAt: iso,
    createdBy: actor,
    person: person.optional(),
    /** The staff member the plan was made for, or null for every broken connection. */
    staffId: id.nullable(),
    state: z.enum(RUN_STATES),
    stateSince: iso,
    items: z.array(planItemSchema).max(10_000),
    /** The third-party checklist captured when the run started (its states are read live). */
    trackedIds: z.array(id).max(10_000),
  })
  .strict();
export type ReconnectRun = z.infer<typeof reconnectRunSchema>;

// ── stored: offboarding ───────────────────────────────────────────────────────────────────────────

export const MOVE_KINDS = ['connection', 'app', 'tracked'] as const;
export const offboardingMoveSchema = z
  .object({
    at: iso,
    kind: z.enum(MOVE_KINDS),
    appId: id.nullable(),
    tenantId: id.nullable(),
    trackedId: id.nullable(),
    /** Who holds it now: the advisor whose id_token approved the reconnect, or who authorised the tracked app. */
    toStaffId: id.nullable(),
    by: actor,
    person: person.optional(),
    /**
     * For an app the leaver created: `recreated` names the replacement app (verified as its organisations are
     * reconnected through it); `transferred` is the advisor's statement that Xero moved the app to another login
     * (an override: Relink cannot see Xero's developer portal); `withdrawn` takes back the latest of those.
     */
    how: z.enum(['reconnected', 'transferred', 'recreated', 'reauthorised', 'withdrawn']),
    note: z.string().max(2000).nullable(),
    replacementAppId: id.optional(),
    /** The organisations the leaver's app reached when the replacement was chosen (all must be reached through it). */
    tenantIds: z.array(id).max(10_000).optional(),
    /** For a transfer: the login the app now belongs to, and the creator recorded before (restored on withdrawal). */
    newOwner: z.string().max(320).optional(),
    previousCreatedBy: z.string().max(320).nullable().optional(),
  })
  .strict();
export type OffboardingMove = z.infer<typeof offboardingMoveSchema>;

export const offboardingWarningSchema = z
  .object({
    at: iso,
    /** `wrong-person`: approved by someone other than the advisor taking over; `unplanned`: connected organisations nobody asked for. */
    kind: z.enum(['wrong-person', 'unplanned']).optional(),
    appId: id.nullable(),
    tenantIds: z.array(id),
    approvedBy: staffRefSchema.nullable(),
    message: z.string().max(2000),
  })
  .strict();
export type OffboardingWarning = z.infer<typeof offboardingWarningSchema>;

/** The record of moving one staff member's dependencies to another advisor: who moved what, and when. */
export const offboardingSchema = z
  .object({
    staffId: id,
    startedAt: iso,
    /** The advisor everything moves to; reconnects approved by anyone else are not counted. */
    targetStaffId: id.nullable(),
    moves: z.array(offboardingMoveSchema).max(20_000),
    warnings: z.array(offboardingWarningSchema).max(500),
  })
  .strict();
export type Offboarding = z.infer<typeof offboardingSchema>;

// ── views: tracked connections ────────────────────────────────────────────────────────────────────

const authoriserSchema = z
  .object({
    /** As stored (a staff id, or an email). */
    ref: z.string(),
    staffId: z.string().nullable(),
    name: z.string(),
    email: z.string(),
    status: z.enum(STAFF_STATUSES).nullable(),
  })
  .strict();

export const trackedViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    organisation: z.string(),
    app: z.string(),
    authorisedBy: authoriserSchema,
    reconnectUrl: z.string().nullable(),
    notes: z.string(),
    source: z.enum(['manual', 'import']),
    createdAt: iso,
    state: z.enum(TRACKED_STATES),
    /** Why it needs reconnecting (or when it was confirmed), in plain words. */
    reason: z.string().nullable(),
    confirmedAt: iso.nullable(),
    confirmedBy: actor.nullable(),
    history: z.array(trackedEventSchema),
  })
  .strict();
export type TrackedView = z.infer<typeof trackedViewSchema>;

/** Adding one by hand: the organisation by name or tenant id, the authoriser by email or staff id. */
export const trackedInputSchema = z
  .object({
    organisation: z.string().trim().min(1, 'Say which organisation (its name or tenant id).').max(200),
    app: z.string().trim().min(1, 'Say which app (e.g. Gusto, Dext, Shopify).').max(200),
    authorisedBy: z.string().trim().min(1, 'Say who authorised it (the staff member’s email).').max(320),
    reconnectUrl: z.string().trim().max(MAX_RECONNECT_URL_LENGTH).nullable().optional(),
    notes: z.string().max(2000).optional(),
  })
  .strict();
export type TrackedInput = z.infer<typeof trackedInputSchema>;

/** The CSV header an import must have, in this order. */
export const TRACKED_CSV_HEADER = ['organisation', 'app', 'authorised_by', 'reconnect_url', 'notes'] as const;
/** The columns an export adds after those five (ignored when an export is imported again). */
export const TRACKED_EXPORT_EXTRA = ['tenant_id', 'state', 'state_reason', 'confirmed_at', 'confirmed_by'] as const;

export const acceptedRowSchema = z
  .object({
    /** The line of the file where the row starts (the header is line 1). */
    line: z.number().int().min(1),
    /** The row as a spreadsheet numbers it (the header is row 1; a cell with line breaks is still one row). */
    row: z.number().int().min(1),
    tenantId: z.string(),
    organisation: z.string(),
    app: z.string(),
    authorisedBy: z.object({ staffId: z.string(), name: z.string(), email: z.string() }).strict(),
    reconnectUrl: z.string().nullable(),
    notes: z.string(),
  })
  .strict();
export type AcceptedRow = z.infer<typeof acceptedRowSchema>;

export const rejectedRowSchema = z
  .object({
    line: z.number().int().min(1),
    row: z.number().int().min(1),
    /** Every problem with the row, each saying what to change. */
    reasons: z.array(z.string()).min(1),
    /** Rejected only because it is already tracked (or repeats an earlier row). */
    duplicate: z.boolean(),
    /** The row's cells as read (for showing it next to the reasons). */
    cells: z.array(z.string()),
  })
  .strict();
export type RejectedRow = z.infer<typeof rejectedRowSchema>;

export const trackedImportPreviewSchema = z
  .object({
    /** Set when the file as a whole cannot be imported (wrong header, empty, too large, not text). */
    fileError: z.string().nullable(),
    accepted: z.array(acceptedRowSchema),
    rejected: z.array(rejectedRowSchema),
    /** Data rows read (blank rows are not counted). */
    rows: z.number().int().min(0),
  })
  .strict();
export type TrackedImportPreview = z.infer<typeof trackedImportPreviewSchema>;

export const trackedImportResultSchema = trackedImportPreviewSchema
  .extend({
    /** False when nothing was written: any invalid row without skip-invalid, a file error, or no valid rows. */
    committed: z.boolean(),
    imported: z.array(trackedViewSchema),
    /** With skip-invalid: the rejected rows that were left out. */
    skipped: z.number().int().min(0),
    message: z.string(),
  })
  .strict();
export type TrackedImportResult = z.infer<typeof trackedImportResultSchema>;

// ── views: the reconnect plan ─────────────────────────────────────────────────────────────────────

const planOrgSchema = z
  .object({ tenantId: z.string(), name: z.string(), health: z.enum(HEALTH_STATES), cause: z.enum(CAUSES).nullable() })
  .strict();

export const planConsentSchema = z
  .object({
    id: z.string(),
    appId: z.string(),
    appName: z.string(),
    staffId: z.string(),
    staffName: z.string(),
    staffEmail: z.string(),
    /** The organisations this one consent brings back (one, when the app connects one organisation at a time). */
    orgIds: z.array(z.string()).min(1),
    organisations: z.array(planOrgSchema),
    multiOrgConsent: z.boolean(),
    /** What to do, in plain words. */
    instruction: z.string(),
    /**
     * When this one approval may not be enough, why (an app that connects one organisation per approval brings
     * back the connections Xero still holds with one approval; any Xero removed need one each).
     */
    note: z.string().nullable(),
  })
  .strict();
export type PlanConsent = z.infer<typeof planConsentSchema>;

export const planTrackedSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    organisation: z.string(),
    app: z.string(),
    reconnectUrl: z.string().nullable(),
    state: z.enum(TRACKED_STATES),
    reason: z.string().nullable(),
    authorisedBy: authoriserSchema,
  })
  .strict();
export type PlanTracked = z.infer<typeof planTrackedSchema>;

export const planTriggerSchema = z
  .object({
    kind: z.enum(['declared', 'detected']),
    staffId: z.string(),
    at: iso,
    summary: z.string(),
    /** For a declaration: its id (to withdraw it) and who made it, in words. */
    declarationId: z.string().nullable(),
    by: z.string().nullable(),
  })
  .strict();
export type PlanTrigger = z.infer<typeof planTriggerSchema>;

export const reconnectPlanSchema = z
  .object({
    generatedAt: iso,
    /** The staff member the plan is for, or null for every broken connection. */
    staff: staffRefSchema.nullable(),
    triggers: z.array(planTriggerSchema),
    /** One entry per consent the advisor will give: never more than Xero requires. */
    consents: z.array(planConsentSchema),
    /** The third-party checklist: apps to reconnect in their own settings. */
    tracked: z.array(planTrackedSchema),
    totals: z
      .object({
        consents: z.number().int(),
        /** As few as the plan could take, if Xero still holds the connections Relink last saw (see countNote). */
        fewestConsents: z.number().int(),
        organisations: z.number().int(),
        connections: z.number().int(),
        apps: z.number().int(),
        staff: z.number().int(),
        tracked: z.number().int(),
      })
      .strict(),
    /** Why the number of approvals may turn out lower than `consents` (null when it cannot). */
    countNote: z.string().nullable(),
    /** Broken connections a reconnect as the same person cannot fix, and what to do instead. */
    notes: z.array(z.string()),
  })
  .strict();
export type ReconnectPlan = z.infer<typeof reconnectPlanSchema>;

export const planProgressSchema = z
  .object({
    total: z.number().int(),
    done: z.number().int(),
    remaining: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
  })
  .strict();
export type PlanProgress = z.infer<typeof planProgressSchema>;

export const planItemViewSchema = planItemSchema
  .extend({
    appName: z.string(),
    staffName: z.string(),
    staffEmail: z.string(),
    multiOrgConsent: z.boolean(),
    /**
     * `unplanned`: connected by an approval in this plan although nobody asked for it (still connected:
     * `connectionId` is what a disconnect removes); `disconnected`: such a connection, no longer there.
     */
    organisations: z.array(
      z
        .object({
          tenantId: z.string(),
          name: z.string(),
          state: z.enum(['queued', 'reconnected', 'unplanned', 'disconnected']),
          connectionId: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict();
export type PlanItemView = z.infer<typeof planItemViewSchema>;

export const reconnectRunViewSchema = reconnectRunSchema
  .omit({ items: true })
  .extend({
    items: z.array(planItemViewSchema),
    progress: planProgressSchema,
    /** The next item `runNextPlanItem` will open, or null when none is pending. */
    nextItemId: z.string().nullable(),
    tracked: z.array(planTrackedSchema),
  })
  .strict();
export type ReconnectRunView = z.infer<typeof reconnectRunViewSchema>;

/** `unplanned`: every planned organisation is back, and the approval also connected others nobody asked for. */
export const PLAN_STEP_OUTCOMES = ['done', 'unplanned', 'partial', 'failed', 'wrong-person', 'cancelled', 'nothing-to-do'] as const;
export const planStepResultSchema = z
  .object({
    run: reconnectRunViewSchema,
    itemId: z.string().nullable(),
    outcome: z.enum(PLAN_STEP_OUTCOMES),
    message: z.string(),
    report: connectReportSchema.nullable(),
  })
  .strict();
export type PlanStepResult = z.infer<typeof planStepResultSchema>;

// ── views: the offboarding audit ──────────────────────────────────────────────────────────────────

/**
 * `safe-to-remove`: Relink verified that nothing depends on them; `safe-by-override`: the only dependencies left
 * were resolved on an advisor's word (named in the report), not verified; `not-safe`: something still depends.
 */
export const VERDICTS = ['safe-to-remove', 'safe-by-override', 'not-safe'] as const;
export type Verdict = (typeof VERDICTS)[number];
/** `overridden`: an app they created, resolved by an advisor's statement Relink cannot check. */
export const DEPENDENCY_STATES = ['depends', 'moved', 'overridden'] as const;
export type DependencyState = (typeof DEPENDENCY_STATES)[number];

const auditStaffSchema = staffRefSchema.extend({ status: z.enum(STAFF_STATUSES) }).strict();
const movedFields = {
  state: z.enum(DEPENDENCY_STATES),
  /** Who holds it now (after a move). */
  movedTo: staffRefSchema.nullable(),
  /** Who moved it, in words ("Ben Adviser approved in Xero", "recorded by an advisor in Relink"). */
  movedBy: z.string().nullable(),
  movedAt: iso.nullable(),
};

export const auditReportSchema = z
  .object({
    generatedAt: iso,
    firmName: z.string(),
    staff: auditStaffSchema,
    /** The advisor everything moves to, once chosen. */
    target: auditStaffSchema.nullable(),
    grants: z.array(
      z
        .object({
          grantId: z.string(),
          appId: z.string(),
          appName: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          organisations: z.number().int(),
          moved: z.number().int(),
        })
        .strict(),
    ),
    connections: z.array(
      z
        .object({
          connectionId: z.string(),
          appId: z.string(),
          appName: z.string(),
          tenantId: z.string(),
          organisation: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          ...movedFields,
          note: z.string().nullable(),
        })
        .strict(),
    ),
    appsCreated: z.array(
      z
        .object({
          appId: z.string(),
          appName: z.string(),
          organisations: z.number().int(),
          guidance: z.string(),
          how: z.enum(['transferred', 'recreated']).nullable(),
          ...movedFields,
          note: z.string().nullable(),
          /** The replacement app chosen, and which of the organisations are reached through it (verified). */
          replacement: z
            .object({
              appId: z.string(),
              appName: z.string(),
              createdBy: z.string().nullable(),
              organisations: z.array(z.object({ tenantId: z.string(), name: z.string(), reached: z.boolean() }).strict()),
            })
            .strict()
            .nullable(),
          /** An advisor's statement accepted instead of a verification: who, when, what they said. */
          override: z.object({ at: iso, by: z.string(), reason: z.string(), newOwner: z.string().nullable() }).strict().nullable(),
          /** Apps that could replace it (not created by them). */
          replacementCandidates: z.array(z.object({ appId: z.string(), appName: z.string() }).strict()),
        })
        .strict(),
    ),
    tracked: z.array(
      z
        .object({
          id: z.string(),
          tenantId: z.string(),
          organisation: z.string(),
          app: z.string(),
          reconnectUrl: z.string().nullable(),
          health: z.enum(TRACKED_STATES),
          ...movedFields,
        })
        .strict(),
    ),
    /** What is left to do, step by step. */
    plan: z.array(
      z
        .object({
          kind: z.enum(['reconnect', 'app', 'tracked']),
          appId: z.string().nullable(),
          tenantIds: z.array(z.string()),
          trackedId: z.string().nullable(),
          text: z.string(),
          reconnectUrl: z.string().nullable(),
        })
        .strict(),
    ),
    /** `moved`: verified by Relink; `overridden`: resolved on an advisor's word; `remaining`: still depends. */
    progress: z.object({ total: z.number().int(), moved: z.number().int(), overridden: z.number().int(), remaining: z.number().int() }).strict(),
    warnings: z.array(
      z
        .object({
          at: iso,
          message: z.string(),
          /** Connections made that nobody asked for, still there (each can be disconnected). */
          unplanned: z.array(z.object({ connectionId: z.string(), appId: z.string(), appName: z.string(), tenantId: z.string(), organisation: z.string() }).strict()),
        })
        .strict(),
    ),
    verdict: z.enum(VERDICTS),
    /** Each dependency that remains (empty when safe to remove). */
    reasons: z.array(z.string()),
    /** Each dependency resolved on an advisor's word rather than verified, in words (shown with the verdict). */
    overrides: z.array(z.string()),
  })
  .strict();
export type AuditReport = z.infer<typeof auditReportSchema>;

export const OFFBOARDING_MOVE_OUTCOMES = ['moved', 'unplanned', 'partial', 'wrong-person', 'cancelled', 'failed', 'nothing-to-do'] as const;
export const offboardingMoveResultSchema = z
  .object({
    audit: auditReportSchema,
    outcome: z.enum(OFFBOARDING_MOVE_OUTCOMES),
    message: z.string(),
    report: connectReportSchema.nullable(),
  })
  .strict();
export type OffboardingMoveResult = z.infer<typeof offboardingMoveResultSchema>;

// ── activity export ───────────────────────────────────────────────────────────────────────────────

export const ACTIVITY_CSV_COLUMNS = ['time', 'actor', 'person', 'action', 'app', 'staff', 'organisations', 'detail'] as const;

// ── previews of what an action will do (shown before it is confirmed) ─────────────────────────────

export const passwordChangePreviewSchema = z
  .object({
    staff: staffRefSchema,
    /** The plan as it would be once the change is recorded. */
    plan: reconnectPlanSchema,
    /** Their sign-ins, and how many of the planned organisations work right now (nothing may be wrong). */
    signIns: z.number().int(),
    workingNow: z.number().int(),
    /** When a change was last reported and is still in force, if one is. */
    alreadyDeclaredAt: iso.nullable(),
  })
  .strict();
export type PasswordChangePreview = z.infer<typeof passwordChangePreviewSchema>;
