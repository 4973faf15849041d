import type { Cause, Confidence, FixAction, Health, StaffStatus } from '../../../shared/domain.js';
import type { DependencyState, PlanItemState, RunState, TrackedState, Verdict } from '../../../shared/workflows.js';
import { HEALTH_LABELS } from '../../../shared/plain-words.js';

export { ACTIVITY_ACTION_WORDS, activityActionWords, activityDetailWords, failureWords } from '../../../shared/plain-words.js';

/**
 * The product's words for the shared vocabulary (DESIGN.md §2 and §4), in one place so every view says the
 * same thing. Written for an advisor, not a developer: no "grant", "token" or error codes here.
 */

export type Tone = 'ok' | 'info' | 'warn' | 'bad' | 'muted';

interface HealthWords {
  /** Full label, used in lists, counts and the organisation detail. */
  label: string;
  /** Short label for a grid cell. */
  short: string;
  /** One sentence on what it means. */
  meaning: string;
  tone: Tone;
  /** Sort weight: lower needs attention sooner. */
  rank: number;
}

export const HEALTH_WORDS: Record<Health, HealthWords> = {
  'app-broken': {
    label: HEALTH_LABELS['app-broken'],
    short: 'App rejected',
    meaning: "Xero no longer accepts this app's credentials, so none of its connections work.",
    tone: 'bad',
    rank: 0,
  },
  'needs-reconnect': {
    label: HEALTH_LABELS['needs-reconnect'],
    short: 'Needs reconnect',
    meaning: 'The sign-in behind this connection no longer works. Someone has to approve it again in Xero.',
    tone: 'bad',
    rank: 1,
  },
  disconnected: {
    label: HEALTH_LABELS.disconnected,
    short: 'Disconnected',
    meaning: 'The sign-in still works, but this organisation is no longer connected to the app.',
    tone: 'bad',
    rank: 2,
  },
  forbidden: {
    label: HEALTH_LABELS.forbidden,
    short: 'Refused',
    meaning: "Xero refuses some requests here: the person's role or the app's permissions are too narrow.",
    tone: 'bad',
    rank: 3,
  },
  expiring: {
    label: HEALTH_LABELS.expiring,
    short: 'Expiring',
    meaning: 'Still working, but it ends on its own soon unless it is used or reconnected.',
    tone: 'warn',
    rank: 4,
  },
  degraded: {
    label: HEALTH_LABELS.degraded,
    short: 'Retrying',
    meaning: 'Xero had a temporary problem. Relink is retrying; the connection still counts as working.',
    tone: 'info',
    rank: 5,
  },
  unverified: {
    label: HEALTH_LABELS.unverified,
    short: 'Not checked',
    meaning: 'Relink has not been able to check this connection yet.',
    tone: 'muted',
    rank: 6,
  },
  checking: {
    label: HEALTH_LABELS.checking,
    short: 'Checking',
    meaning: 'Relink is checking this connection now.',
    tone: 'info',
    rank: 7,
  },
  healthy: {
    label: HEALTH_LABELS.healthy,
    short: 'Healthy',
    meaning: 'Working normally.',
    tone: 'ok',
    rank: 8,
  },
};

/** Health states in the order an advisor should look at them. */
export const HEALTH_ORDER: readonly Health[] = (Object.keys(HEALTH_WORDS) as Health[]).sort(
  (a, b) => HEALTH_WORDS[a].rank - HEALTH_WORDS[b].rank,
);

export const CAUSE_WORDS: Record<Cause, string> = {
  'password-changed': 'Xero password changed',
  'staff-removed': 'Staff member lost access',
  'app-disconnected-in-org': 'App disconnected in this organisation',
  'refresh-token-expired': 'Unused for 60 days',
  'token-replaced': 'Replaced by a newer connection',
  'credentials-rotated': "App's credentials changed",
  'app-deleted': 'App deleted in Xero',
  'role-restricted': 'Role too narrow',
  'scope-missing': 'Permission not approved',
  'clock-skew': "This computer's clock is off",
  'rate-limited': 'Xero is limiting requests',
  'provider-outage': 'Xero is having problems',
  network: 'Cannot reach Xero',
  'keychain-unavailable': 'Keychain locked or missing',
  'key-missing': 'Key missing from the keychain',
  'grant-revoked': 'Access withdrawn',
};

export const CONFIDENCE_WORDS: Record<Confidence, string> = {
  confirmed: 'confirmed',
  likely: 'likely',
  possible: 'possible',
};

export const STAFF_STATUS_WORDS: Record<StaffStatus, { label: string; tone: Tone }> = {
  active: { label: 'Active', tone: 'ok' },
  leaving: { label: 'Leaving', tone: 'warn' },
  removed: { label: 'Removed', tone: 'bad' },
};

export const FIX_ACTION_WORDS: Record<FixAction, string> = {
  reconnect: 'Reconnect',
  'reconnect-in-org': 'Reconnect in this organisation',
  'update-app-credentials': 'Review the app',
  wait: 'Nothing to do',
  'check-clock': 'Check again',
  'unlock-keychain': 'Open keychain settings',
  none: 'Nothing to do',
};

export const KEYCHAIN_WORDS = {
  available: { label: 'Keychain unlocked', tone: 'ok' as Tone },
  locked: { label: 'Keychain locked', tone: 'warn' as Tone },
  unavailable: { label: 'No keychain', tone: 'bad' as Tone },
  'not-answering': { label: 'Keychain not answering', tone: 'warn' as Tone },
};

export const ACTOR_WORDS = { engine: 'Relink', advisor: 'An advisor', cli: 'Command line' } as const;

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

/** "1 needs attention", "3 need attention" */
export function needAttention(n: number): string {
  return `${n.toLocaleString()} ${n === 1 ? 'needs' : 'need'} attention`;
}

/**
 * Health states in which a connection works today, so a forecast of how long it keeps working means something.
 * A broken, never-checked or being-checked connection has no such forecast: Relink would be saying more than
 * it knows.
 */
export const WORKING_HEALTH: ReadonlySet<Health> = new Set(['healthy', 'degraded', 'expiring']);

/** "10 days left", "1 day left", "ends today" */
export function daysLeftWords(days: number): string {
  return days <= 0 ? 'ends today' : `${plural(days, 'day')} left`;
}

// ── firm workflows (issue 5) ────────────────────────────────────────────────────────────────────────

export const PLAN_ITEM_WORDS: Record<PlanItemState, { label: string; tone: Tone }> = {
  pending: { label: 'Queued', tone: 'info' },
  done: { label: 'Done', tone: 'ok' },
  skipped: { label: 'Skipped', tone: 'muted' },
  failed: { label: 'Failed', tone: 'bad' },
};

export const RUN_STATE_WORDS: Record<RunState, { label: string; tone: Tone }> = {
  running: { label: 'In progress', tone: 'info' },
  paused: { label: 'Paused', tone: 'warn' },
  complete: { label: 'Finished', tone: 'ok' },
  cancelled: { label: 'Cancelled', tone: 'muted' },
};

export const TRACKED_STATE_WORDS: Record<TrackedState, { label: string; tone: Tone }> = {
  ok: { label: 'Presumed working', tone: 'ok' },
  'needs-reconnect': { label: 'Needs reconnecting', tone: 'bad' },
  reconnected: { label: 'Reconnected', tone: 'ok' },
};

export const DEPENDENCY_WORDS: Record<DependencyState, { label: string; tone: Tone }> = {
  depends: { label: 'Still depends on them', tone: 'bad' },
  moved: { label: 'Moved', tone: 'ok' },
  overridden: { label: 'Overridden (not verified)', tone: 'warn' },
};

export const VERDICT_WORDS: Record<Verdict, { label: string; tone: Tone }> = {
  'safe-to-remove': { label: 'Safe to remove', tone: 'ok' },
  'safe-by-override': { label: "Safe to remove only on an advisor's word", tone: 'warn' },
  'not-safe': { label: 'Not safe yet', tone: 'bad' },
};

/** "3 approvals bring back 12 organisations" */
export function consentsSentence(consents: number, organisations: number): string {
  return `${plural(consents, 'approval')} ${consents === 1 ? 'brings' : 'bring'} back ${plural(organisations, 'organisation')}`;
}
