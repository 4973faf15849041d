import type { Health } from './domain.js';

/**
 * Words a bookkeeper reads, shared by the window (renderer/src/ui/words.ts) and what Relink writes for people
 * outside it (the activity CSV, the offboarding CSV and PDF), so a health state or a log entry has one name
 * everywhere. No slugs and no raw codes on their own: a code Xero sent may follow the plain words, in brackets,
 * for whoever the advisor asks for support.
 */

export const HEALTH_LABELS: Record<Health, string> = {
  'app-broken': 'App not accepted',
  'needs-reconnect': 'Needs reconnecting',
  disconnected: 'Disconnected in organisation',
  forbidden: 'Access refused',
  expiring: 'Expiring soon',
  degraded: 'Retrying',
  unverified: 'Not checked yet',
  checking: 'Checking',
  healthy: 'Healthy',
};

/** Activity log actions the service writes; others are shown by turning their name into words. */
export const ACTIVITY_ACTION_WORDS: Record<string, string> = {
  'app-added': 'App added',
  'app-credentials-updated': "App's secret updated",
  connected: 'Connected',
  reconnected: 'Reconnected',
  'grant-refused': 'Xero refused a sign-in',
  'app-credentials-rejected': "Xero rejected an app's secret",
  'incident-opened': 'Problem found',
  'incident-recovered': 'Problem resolved',
  'metadata-recovered': "Relink's records restored from the last good copy",
  'task-failed': 'A background task failed',
  'assess-failed': 'A health check failed',
  'settings-changed': 'Settings changed',
  'password-change-declared': 'Password change declared',
  'password-change-withdrawn': 'Password change report withdrawn',
  'reconnect-plan-started': 'Reconnect plan started',
  'reconnect-plan-step': 'Reconnect plan step',
  'reconnect-plan-step-failed': 'Reconnect plan step failed',
  'reconnect-plan-step-skipped': 'Reconnect plan step skipped',
  'reconnect-plan-wrong-person': 'Reconnect plan: approved by someone else',
  'reconnect-plan-paused': 'Reconnect plan paused',
  'reconnect-plan-resumed': 'Reconnect plan resumed',
  'reconnect-plan-complete': 'Reconnect plan finished',
  'reconnect-plan-cancelled': 'Reconnect plan stopped',
  'offboarding-target-set': 'Offboarding: new advisor chosen',
  'offboarding-moved': 'Offboarding: connection moved',
  'offboarding-move-wrong-person': 'Offboarding: approved by someone else',
  'offboarding-app-moved': 'Offboarding: app moved',
  'offboarding-app-override': "Offboarding: app marked moved on an advisor's word",
  'offboarding-app-replacement-chosen': 'Offboarding: replacement app chosen',
  'offboarding-app-withdrawn': 'Offboarding: app move withdrawn',
  'offboarding-move-unplanned': 'Offboarding: an organisation connected that was not planned',
  'connection-disconnected': 'Connection disconnected',
  'reconnect-plan-reopened': 'Reconnect plan reopened',
  'tracked-added': 'Third-party app added',
  'tracked-imported': 'Third-party apps imported',
  'tracked-moved': 'Third-party app moved',
  'tracked-removed': 'Third-party app removed',
  'tracked-reconnected': 'Third-party app reconnected',
  'render-process-gone': "Relink's window stopped and was reopened",
};

export function activityActionWords(action: string): string {
  const known = ACTIVITY_ACTION_WORDS[action];
  if (known) return known;
  const words = action.replace(/[.-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The error codes Xero answers with, each in a bookkeeper's words (most specific first). */
const CODE_WORDS: Array<[RegExp, string]> = [
  [/\binvalid_grant\b/i, 'Xero refused the sign-in'],
  [/\binvalid_client\b/i, "Xero no longer accepts the app's secret"],
  [/\bunauthorized_client\b/i, 'Xero does not recognise the app'],
  [/\binvalid_scope\b/i, 'Xero refused a permission the app asks for'],
  [/\binsufficient_scope\b/i, 'The sign-in lacks a permission this request needs'],
  [/role too narrow|\bAuthorizationUnsuccessful\b/i, "The person's role in the organisation is too narrow"],
  [/\bTokenExpired\b/i, "Xero's short-lived access had expired (Relink renews it on its own)"],
  [/\bAuthenticationUnsuccessful\b|\btoken_rejected\b|^401\b/i, 'Xero did not accept the sign-in'],
  [/^403\b/, 'Xero refused access to the organisation'],
];

/**
 * A failure detail as main records it (`400 invalid_grant`, `502 HTML page from a proxy`, `could not reach Xero
 * (ENOTFOUND)`) in plain words, the code after them for support: "Xero refused the sign-in (400 invalid_grant)".
 */
export function failureWords(detail: string): string {
  const d = detail.trim();
  for (const [pattern, words] of CODE_WORDS) if (pattern.test(d)) return `${words} (${d})`;
  // "502 HTML page from a proxy" → "HTML page from a proxy (502)": the words first, the status for support.
  const status = /^(\d{3})\s+(.+)$/.exec(d);
  if (status) {
    const rest = status[2]!;
    return `${rest.charAt(0).toUpperCase()}${rest.slice(1)} (HTTP ${status[1]})`;
  }
  return d.charAt(0).toUpperCase() + d.slice(1);
}

/** Log entries whose detail is a failure as main records it (`400 invalid_grant`). */
const FAILURE_ACTIONS = new Set(['grant-refused', 'app-credentials-rejected']);
const OAUTH_CODE = /\b(invalid_grant|invalid_client|unauthorized_client|invalid_scope|insufficient_scope)\b/i;

/** An activity entry's detail in words (older entries carry `(pkce)` and bare codes such as `400 invalid_grant`). */
export function activityDetailWords(action: string, detail: string | null | undefined): string {
  if (!detail) return '';
  if (action === 'app-added') {
    const m = /^(.*) \((pkce|web)\)$/.exec(detail);
    if (m) return `${m[1]}, ${m[2] === 'pkce' ? 'signs in without a client secret' : 'signs in with a client secret'}`;
  }
  // A bare code ("400 invalid_grant"); a sentence that already names its code in brackets stays as it is.
  if (FAILURE_ACTIONS.has(action) || (OAUTH_CODE.test(detail) && !/\(.*\)/.test(detail))) return failureWords(detail);
  return detail;
}

/** The keychain's state in a sentence ("The keychain is …"). */
export const KEYCHAIN_STATE_WORDS = {
  available: 'unlocked',
  locked: 'locked',
  unavailable: 'not available',
  'not-answering': 'not answering',
} as const;
