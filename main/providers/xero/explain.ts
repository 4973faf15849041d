// Over 500 lines because it is one table of fixed sentences, one per situation, and the rules that pick them.
import type { Cause, Confidence, Explanation, FixAction } from '../../../shared/domain.js';

/**
 * The explainer: an advisor pastes whatever error they were shown — by Xero, by an app, in a log, in an email
 * — and gets back the likely cause and the fix, in plain words for an accountant.
 *
 * Safety: pasted text often contains tokens, secrets or Authorization headers. Nothing from the input is ever
 * copied into an explanation. Every sentence is fixed text, and `codes` holds only names from a fixed list
 * (`invalid_grant`, `HTTP 401`…), so a token in the input cannot come back out.
 */

export { explanationSchema } from '../../../shared/domain.js';
export type { Explanation } from '../../../shared/domain.js';

/** Longer pastes are cut: the codes that matter are near the top of any error. */
export const MAX_EXPLAIN_INPUT = 20_000;

// ————————————————————————————————————————————————————————————— reading the text

interface Features {
  /** Normalised: decoded, straight quotes, single spaces, lower case. */
  text: string;
  statuses: Set<number>;
  limit: 'minute' | 'day' | 'concurrent' | 'appminute' | null;
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', apos: "'", lt: '<', gt: '>', nbsp: ' ', '#39': "'", '#34': '"' };

function urlDecode(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

export function normaliseErrorText(input: string): string {
  let t = input.slice(0, MAX_EXPLAIN_INPUT);
  t = t
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\u00a0/g, ' ');
  // Twice: errors travel double-encoded (a form body inside a query string).
  t = urlDecode(urlDecode(t));
  // Form encoding writes spaces as '+': `oauth_problem_advice=The+access+token…`.
  t = t.replace(/(?<=[A-Za-z])\+(?=[A-Za-z])/g, ' ');
  t = t.replace(/&(quot|amp|apos|lt|gt|nbsp|#39|#34);/gi, (_m, name: string) => ENTITIES[name.toLowerCase()] ?? _m);
  // JSON pasted with escapes: \" and \u0022.
  t = t.replace(/\\u([0-9a-f]{4})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))).replace(/\\"/g, '"');
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

const STATUS_WORDS: Array<[RegExp, number]> = [
  [/\bunauthori[sz]ed\b(?!_)/, 401],
  [/\bforbidden\b/, 403],
  [/\btoo many requests\b/, 429],
  [/\binternal server error\b/, 500],
  [/\bbad gateway\b/, 502],
  [/\bservice (?:temporarily )?unavailable\b/, 503],
  [/\bgateway time-?out\b/, 504],
];

function readFeatures(input: string): Features {
  const text = normaliseErrorText(input);
  const statuses = new Set<number>();
  const add = (n: string | undefined) => {
    const v = Number(n);
    if (v >= 400 && v <= 599) statuses.add(v);
  };
  // `"Status":401`, `status code 403`, `HTTP/1.1 429`, `Error 401`, `statusCode=503`, `(401)`.
  for (const m of text.matchAll(/\b(?:status(?:[ _-]?code)?|http(?:\/\d(?:\.\d)?)?|error(?:[ _-]?code)?|code|response)"?\s*[:=#]?\s*"?\(?(\d{3})\b/g)) add(m[1]);
  // `401 Unauthorized`, `503 - Service Unavailable`.
  for (const m of text.matchAll(/\b(\d{3})\s*[-:(]?\s*(?:unauthori[sz]ed|forbidden|too many requests|internal server error|bad gateway|service unavailable|gateway time-?out|not available)/g)) add(m[1]);
  // A status heading the text or leading a body: `400 {"error":…}`.
  for (const m of text.matchAll(/^(\d{3})(?=\s*(?:\{|$))/g)) add(m[1]);
  for (const m of text.matchAll(/\b(\d{3})\s*\{/g)) add(m[1]);
  // A bare 401/403/429/5xx that is not part of an amount or a longer number.
  for (const m of text.matchAll(/(?<![\d.$£€,/:-])\b(401|403|429|500|502|503|504)\b(?![.,:]\d|\d)/g)) add(m[1]);
  for (const [re, status] of STATUS_WORDS) if (re.test(text)) statuses.add(status);
  return { text, statuses, limit: readLimit(text) };
}

function readLimit(text: string): Features['limit'] {
  const header = /x-rate-limit-problem"?\s*[:=]\s*"?\s*([a-z-]+)/.exec(text)?.[1] ?? /\blimittype"?\s*[:=]\s*"?([a-z-]+)/.exec(text)?.[1];
  const value = header ?? (/rate limit exceeded:? (minute|day|daily|concurrent|appminute)\b/.exec(text)?.[1] || null);
  switch (value) {
    case 'minute':
      return 'minute';
    case 'day':
    case 'daily':
      return 'day';
    case 'concurrent':
      return 'concurrent';
    case 'appminute':
    case 'app-minute':
      return 'appminute';
  }
  if (/\bdaily (?:api )?(?:call |request )?limit\b|\bday limit\b|x-daylimit-remaining"?\s*[:=]\s*"?0\b/.test(text)) return 'day';
  if (/\bminute (?:api )?(?:call |request )?limit\b|x-minlimit-remaining"?\s*[:=]\s*"?0\b/.test(text)) return 'minute';
  if (/\bconcurrent (?:api )?(?:call |request )?limit\b|\bconcurrent requests\b/.test(text)) return 'concurrent';
  if (/x-appminlimit-remaining"?\s*[:=]\s*"?0\b/.test(text)) return 'appminute';
  return null;
}

/** Codes worth naming back, in canonical spelling. Only these strings ever leave the explainer. */
const CODE_VOCABULARY: Array<[string, RegExp]> = [
  ['invalid_grant', /invalid_grant/],
  ['invalid_client', /invalid_client/],
  ['unauthorized_client', /unauthori[sz]ed_client/],
  ['invalid_scope', /invalid_scope/],
  ['access_denied', /access_denied/],
  ['unsupported_grant_type', /unsupported_grant_type/],
  ['invalid_request', /invalid_request/],
  ['invalid_token', /invalid_token/],
  ['Invalid redirect_uri', /invalid redirect_?uri/],
  ['Invalid scope for client', /invalid scope for client/],
  ['Unknown client or client not enabled', /unknown client|client not enabled/],
  ['TokenExpired', /tokenexpired/],
  ['AuthenticationUnsuccessful', /authenticationunsuccessful/],
  ['AuthorizationUnsuccessful', /authori[sz]ationunsuccessful/],
  ['insufficient_scope', /insufficient_scope/],
  ['InsufficientPermissions', /insufficientpermissions/],
  ['X-Rate-Limit-Problem', /x-rate-limit-problem/],
  ['rate limit exceeded', /rate limit exceeded/],
  ['connectionLimit', /connectionlimit|connection limit/],
  ['JWT not active yet', /not active yet/],
  ['offline for maintenance', /offline for maintenance/],
  ['Organisation offline', /organi[sz]ation (?:is )?offline/],
  ['token_rejected', /token_rejected/],
  ['token_expired', /token_expired/],
  ['timestamp_refused', /timestamp_refused/],
  ['signature_invalid', /signature_invalid/],
  ['signature_method_rejected', /signature_method_rejected/],
  ['consumer_key_unknown', /consumer_key_unknown/],
  ['nonce_used', /nonce_used/],
  ['permission_denied', /permission_denied/],
  ['parameter_rejected', /parameter_rejected/],
];

function codesOf(f: Features): string[] {
  const codes = [...f.statuses].sort((a, b) => a - b).map((s) => `HTTP ${s}`);
  for (const [code, re] of CODE_VOCABULARY) if (re.test(f.text)) codes.push(code);
  if (f.limit) codes.push(`limit: ${f.limit}`);
  return codes;
}

// ————————————————————————————————————————————————————————————— what each situation means

type Words = Omit<Explanation, 'matched' | 'codes'>;

const w = (cause: Cause | null, confidence: Confidence, action: FixAction, title: string, whatHappened: string, fix: string): Words => ({
  cause,
  confidence,
  action,
  title,
  whatHappened,
  fix,
});

const RECONNECT_WHY =
  'The usual reasons: the person who connected it changed their Xero password or was removed from the organisation, ' +
  'someone disconnected the app in Xero, it went unused for 60 days, or another copy of the same connection renewed it ' +
  'and this copy was left holding an old key.';

/** Said first about every `oauth_problem=…` code: none of them can come from Xero's sign-in today. */
const OAUTH1 =
  "This message comes from OAuth 1.0a, the sign-in method Xero used before OAuth 2.0 and has since retired, so it was produced by an app (or copied from a log) still on that old method.";

const W = {
  keychain: w(
    'keychain-unavailable',
    'likely',
    'unlock-keychain',
    "This computer's keychain is locked",
    "Relink keeps each connection's long-lived key in the computer's keychain. The keychain is locked or not available right now, so Relink cannot use those keys. Nothing in Xero has changed.",
    'Unlock the keychain (signing in to the computer again usually does it), then press Check now. No reconnection is needed.',
  ),
  clock: w(
    'clock-skew',
    'likely',
    'check-clock',
    "This computer's clock is out of step with Xero",
    "Every sign-in to Xero carries a time stamp. When a computer's clock is a few minutes fast or slow, those stamps look as if they come from the future or the past, and Xero or the app turns them down even though nothing else is wrong.",
    "Set the computer's date, time and time zone to update automatically in its Date & Time settings, then try again. No reconnection is needed.",
  ),
  legacyTimestamp: w(
    'clock-skew',
    'likely',
    'check-clock',
    'The clock that stamped the request is out of step with Xero',
    `${OAUTH1} Every request under it carried a time stamp, and Xero refused this one because the stamp was more than 5 minutes away from Xero's own time. The stamp is made by whichever computer signs the request: for an app that runs online that is the app vendor's server, not this computer.`,
    "If the app runs on this computer, set the computer's date and time to update automatically. If it runs online, send this message to the app's support: their server's clock needs correcting. Nothing needs reconnecting.",
  ),
  connectionLimit: w(
    null,
    'confirmed',
    'none',
    'The app has reached its limit of connected organisations',
    "Xero caps how many organisations one app can be connected to, according to the app's plan with Xero (the Starter plan allows 5). This app is already at its cap, so Xero would not connect another organisation.",
    "Disconnect the app from organisations that no longer need it, or ask whoever manages the app in Xero's developer portal to move it to a plan with a higher cap. Then connect the organisation again.",
  ),
  legacyMismatch: w(
    null,
    'likely',
    'reconnect',
    'The app lost track of its newest access key',
    `${OAUTH1} Its advice text says the app presented an access token where Xero expected another one (the "REQUEST token" it names): the app renewed its access, did not keep the new token (or renewed twice at once from two places), and then tried to renew with the old one. In short, the app lost track of its latest token.`,
    'Reconnect the app once to get a fresh key, and ask whoever supports it to make sure it saves each new key before using it and renews from one place only. Relink uses Xero\'s current method and keeps exactly one copy of each connection.',
  ),
  legacyRevoked: w(
    'grant-revoked',
    'likely',
    'reconnect',
    'Access to Xero was withdrawn',
    `${OAUTH1} Its advice text says Xero no longer accepts this connection. That happens when someone disconnects the app inside Xero, when the person who connected it is removed from the organisation or moved to a role that can't use apps, or when the organisation is connected to the same app again from somewhere else, which replaces this connection.`,
    'Reconnect, signing in with a Xero login that still has access to the organisation (an adviser or standard user). If it keeps happening, find out who else connects this app to the organisation.',
  ),
  legacyRejected: w(
    'grant-revoked',
    'possible',
    'reconnect',
    'Xero turned the connection away',
    `${OAUTH1} Xero no longer treated this connection's key as valid: someone withdrew access, the person who connected it was removed or given a narrower role, the organisation was connected again from somewhere else (which replaces this connection), or the app offered an out-of-date key.`,
    'Reconnect, signing in with a Xero login that has access to the organisation.',
  ),
  legacyExpired: w(
    'refresh-token-expired',
    'possible',
    'reconnect',
    "The connection's access has run out",
    "Access from Xero only lasts a limited time and has to be renewed. This message means an expired key was used. If the app renews keys by itself, it clears on its own; if the app can no longer renew (for example after a long time unused), Xero needs a fresh sign-in.",
    'If the message keeps coming back, reconnect. Relink renews its own connections well before they run out.',
  ),
  legacyCertificate: w(
    'credentials-rotated',
    'likely',
    'update-app-credentials',
    "Xero no longer accepts the app's certificate",
    "The app proves who it is to Xero with a certificate. Xero has no valid certificate on record for this app — usually because the old one expired.",
    "Whoever manages the app in Xero's developer portal needs to upload a new certificate (or move the app to Xero's current sign-in method). The connections work again once the app's credentials are updated.",
  ),
  legacySignature: w(
    'credentials-rotated',
    'possible',
    'update-app-credentials',
    "Xero could not verify the app's signature",
    "The app signs each request with a private key. Xero checked the signature against the key registered for the app, and they did not match — the keys were probably changed on one side only.",
    "Whoever manages the app should check that the key it uses matches the one registered in Xero's developer portal. This is about the app's set-up, not about your Xero login.",
  ),
  legacyConsumerUnknown: w(
    'app-deleted',
    'likely',
    'update-app-credentials',
    "Xero doesn't recognise the app",
    "The app's identifier isn't known to Xero. The app may have been deleted in Xero's developer portal (which also happens when the person who created it is removed), or its identifier was copied incorrectly.",
    "Check the app's details in Xero's developer portal. If the app is gone, create it again, enter the new details in the app's settings and reconnect its organisations.",
  ),
  legacyNonce: w(
    null,
    'likely',
    'none',
    'A request was sent twice',
    'Xero refuses a request that exactly repeats one it has already seen. This is usually a retry sent too quickly and does no harm.',
    'Try again. If it happens often, pass the message to whoever supports the app.',
  ),
  legacyPermission: w(
    'role-restricted',
    'possible',
    'none',
    "The connection isn't allowed to do this",
    'Xero accepted the connection but refused this task for lack of permission, most often because the role of the person who connected it is too narrow in this organisation.',
    "Ask an admin of the organisation to check that person's role (Standard or Adviser covers most apps), or reconnect with a login that has such a role.",
  ),
  redirect: w(
    null,
    'confirmed',
    'update-app-credentials',
    "The app's return address isn't registered with Xero",
    "After you approve an app, Xero sends you back to an address the app registered in advance. The address this app asked for isn't on its list, so Xero stopped before anything was connected.",
    "In Xero's developer portal, add the exact return address the app uses (for Relink, the local addresses listed in the app's settings) as a redirect URI, then connect again.",
  ),
  scopeForClient: w(
    null,
    'confirmed',
    'update-app-credentials',
    "The app asked Xero for a permission it can't have",
    "Apps ask Xero for a list of permissions when they connect. At least one on this app's list isn't available to it: apps created since March 2026 must use Xero's newer, narrower permissions, and some permissions are kept for approved partner apps.",
    "Whoever manages the app should change its requested permissions to ones Xero allows (for newer apps, the granular accounting permissions such as invoices or payments), then connect again.",
  ),
  unknownClient: w(
    'app-deleted',
    'possible',
    'update-app-credentials',
    "Xero doesn't recognise this app",
    "Xero couldn't find an active app with this client ID. Either the ID was copied incorrectly, or the app was deleted or switched off in Xero's developer portal — which also happens when the person who created it there is removed from Xero.",
    "Compare the client ID with the one in Xero's developer portal. If the app no longer exists, create it again (ideally under a login not tied to one staff member), enter its new details, and reconnect its organisations.",
  ),
  unauthorizedClient: w(
    null,
    'possible',
    'update-app-credentials',
    'Xero refused to let this app sign in',
    "Xero turned the app itself away, before looking at any organisation. Most often the return address the app gave Xero (its redirect URI) is not registered for the app in Xero's developer portal. Less often the app's client ID is wrong, the app was switched off or deleted, or it is not allowed to sign in this way.",
    "In Xero's developer portal, open the app (My Apps → the app → Configuration) and first check that its redirect URIs include the exact address the app uses (for Relink, the local addresses listed in the app's settings). Then compare the client ID with the one the app uses. Connect again once both match.",
  ),
  codeRefused: w(
    null,
    'likely',
    'reconnect',
    'The sign-in took too long or was used twice',
    'After you approve an app in Xero, the app receives a one-time code that must be used within a few minutes. Xero refused that code: it had expired, had already been used, or did not belong to this sign-in.',
    'Start the connection again and finish it without a long pause. Nothing was changed in Xero.',
  ),
  invalidGrant: w(
    'grant-revoked',
    'likely',
    'reconnect',
    'The connection needs to be signed in again',
    `Xero no longer accepts the key this connection uses to stay signed in, and retrying will not bring it back. ${RECONNECT_WHY}`,
    "Reconnect: sign in to Xero with that staff member's login and approve the app again. If several connections belonging to the same person broke at the same time, a password change is the likely reason, and Relink can reconnect them together.",
  ),
  invalidClient: w(
    'credentials-rotated',
    'likely',
    'update-app-credentials',
    "Xero no longer accepts the app's credentials",
    "The app identifies itself to Xero with a client ID and, for web apps, a client secret. Xero refused them: most often the secret was replaced in Xero's developer portal, or the ID or secret was entered incorrectly.",
    "Copy the current client ID and secret from Xero's developer portal into the app's settings. The existing connections usually work again straight away, without reconnecting.",
  ),
  invalidScope: w(
    null,
    'confirmed',
    'update-app-credentials',
    "The app asked Xero for a permission it can't have",
    "Xero refused the list of permissions the app asked for. Apps created since March 2026 can only use Xero's newer, narrower permissions, and some permissions need Xero's approval first.",
    "Whoever manages the app should change its requested permissions to ones Xero allows, then connect again.",
  ),
  accessDenied: w(
    null,
    'confirmed',
    'reconnect',
    'The sign-in was cancelled',
    "Someone chose Cancel, or didn't allow access, on Xero's approval page, so nothing was connected.",
    'Start the connection again and choose Allow access. If only certain people may approve apps for the organisation, ask one of them.',
  ),
  badRequest: w(
    null,
    'likely',
    'none',
    'The app sent Xero a request it could not use',
    "Xero couldn't make sense of the request the app sent. This is a fault in the app, not in your Xero login or in the connection.",
    "Try again. If it keeps happening, send the message to the app's support team. Your connections are not affected.",
  ),
  tokenExpired: w(
    null,
    'confirmed',
    'none',
    'A short-lived access key ran out — this is routine',
    "Xero's access keys last 30 minutes. The app used one that had just run out. A well-behaved app renews the key and tries once more, and nobody notices.",
    "Nothing to do if it clears on its own. If it keeps appearing, the renewal itself is failing: check the connection in Relink, and check that the computer's clock is right.",
  ),
  scopeMissing: w(
    'scope-missing',
    'confirmed',
    'reconnect',
    'The app is missing a permission for this task',
    'The connection works, but it was not granted the permission this particular task needs (for example reading reports or payroll). Xero only allows what was approved when the app was connected.',
    'Add the missing permission to what the app asks for if needed, then reconnect and approve again — Xero adds it to the permissions already given.',
  ),
  roleRestricted: w(
    'role-restricted',
    'likely',
    'none',
    "The staff member's role in Xero doesn't allow this",
    'The app is connected and has the right permissions, but the person whose login it uses has a role in this organisation that cannot do this task — for example an invoice-only user asking for a balance sheet.',
    'Ask an admin of the organisation to give that person a broader role (Standard or Adviser), or reconnect the app with a login that already has one.',
  ),
  insufficientPermissions: w(
    'role-restricted',
    'possible',
    'none',
    "The connection isn't allowed to do this",
    "Xero accepted the connection but refused this task for lack of permission. Either the app wasn't given the permission for it when it was connected, or the role of the person who connected it is too narrow in this organisation.",
    "Check that person's role in the organisation (Standard or Adviser covers most apps). If the role is fine, reconnect and approve the app again so it receives every permission it asks for.",
  ),
  rateMinute: w(
    'rate-limited',
    'confirmed',
    'wait',
    'Too many requests in one minute',
    'Xero allows an app 60 requests a minute for each organisation. This app went over, so Xero asked it to pause for a moment.',
    'Nothing to fix: requests go through again within a minute. Relink spaces out its own checks to stay under the limit.',
  ),
  rateDay: w(
    'rate-limited',
    'confirmed',
    'wait',
    "Today's allowance of requests is used up",
    "Each app has a daily allowance of requests for each organisation (5,000, or 1,000 on Xero's Starter plan). It has run out for now; Xero accepts requests again when the 24-hour window resets, which can be several hours away.",
    "Wait for the reset — nothing is broken. If it happens regularly, the app may be syncing more than it needs to, or its plan with Xero may be too small.",
  ),
  rateConcurrent: w(
    'rate-limited',
    'confirmed',
    'wait',
    'Too many requests at the same time',
    'Xero lets an app make at most 5 requests at once for each organisation. This app tried to make more.',
    'Nothing to fix: it clears within seconds.',
  ),
  rateApp: w(
    'rate-limited',
    'confirmed',
    'wait',
    "The app's overall limit was reached",
    'Xero allows each app 10,000 requests a minute across all the organisations it is connected to. This app went over.',
    'Nothing to fix: it clears within a minute. If it keeps happening, the app is doing too much at once.',
  ),
  rate: w(
    'rate-limited',
    'confirmed',
    'wait',
    'Xero asked the app to slow down',
    "Xero limits how many requests an app may make: 60 a minute and a daily allowance for each organisation, and at most 5 at once. The app went over one of those limits.",
    'Nothing to fix: wait a little and requests go through again. If it happens every day, the app may be syncing more than it needs to.',
  ),
  maintenance: w(
    'provider-outage',
    'confirmed',
    'wait',
    'Xero is offline for maintenance',
    'Xero takes its service offline now and then for planned maintenance. Nothing is wrong with your connections.',
    "Wait until the maintenance ends (Xero's status page, status.xero.com, says when). Relink keeps trying by itself.",
  ),
  orgOffline: w(
    'provider-outage',
    'likely',
    'wait',
    'This organisation is temporarily offline in Xero',
    'Xero has taken this one organisation offline for a short while — for example while it is being upgraded or restored. Other organisations are not affected.',
    'Wait and try again later. If it lasts more than a day, contact Xero support about the organisation.',
  ),
  forbidden: w(
    'app-disconnected-in-org',
    'likely',
    'reconnect-in-org',
    'This organisation is no longer connected',
    'The sign-in itself still works, but Xero refuses this particular organisation. Usually the app was disconnected from it in Xero, or the person who connected it was removed from the organisation or given a different role. It also happens when an organisation is deleted or its trial ends.',
    'Reconnect this organisation, signing in with someone who has access to it. If the organisation was closed on purpose, remove it from the list instead.',
  ),
  forbiddenBare: w(
    'app-disconnected-in-org',
    'possible',
    'reconnect-in-org',
    'Xero refused access to an organisation',
    "A 403 on its own says only that Xero refused the request, not why. From Xero's API it most often means the organisation is no longer connected to the app (the app was disconnected in Xero, or the person who connected it lost access), but it also comes from a request naming the wrong organisation, or from a role that does not allow the task.",
    'Press Check now in Relink and look at the organisation: if it shows as disconnected, reconnect it, signing in with someone who has access. If it shows as working, the problem is in the request the app made; send the message to its support.',
  ),
  unauthenticated: w(
    'grant-revoked',
    'possible',
    'reconnect',
    "Xero didn't accept the connection's sign-in",
    `Xero didn't accept the access key the app sent. If the key was only out of date, the app renews it and carries on. If the message stays, the connection itself has been withdrawn. ${RECONNECT_WHY}`,
    'Let the app try once more. If the message stays, reconnect, signing in with a login that has access to the organisation. If many apps broke at the same moment, a password change is the likely reason.',
  ),
  proxy: w(
    'network',
    'possible',
    'wait',
    'Something between this computer and Xero answered instead',
    "The answer was a web page rather than a reply from Xero — typically from a proxy, a firewall, or a Wi-Fi network that wants you to sign in first.",
    'Check that the internet connection works: open xero.com in a browser and sign in to the Wi-Fi if asked. Relink keeps trying, and nothing needs reconnecting.',
  ),
  serverError: w(
    'provider-outage',
    'likely',
    'wait',
    'Xero had a problem on its side',
    "Xero's servers answered with an error of their own. This is usually brief and has nothing to do with your connections.",
    "Wait a few minutes and try again. Xero's status page (status.xero.com) lists known problems. Relink keeps trying by itself.",
  ),
  network: w(
    'network',
    'likely',
    'wait',
    "The computer couldn't reach Xero",
    'The request never got a proper answer: the internet connection dropped, the address could not be looked up, or the line went quiet for too long.',
    'Check the internet connection (and any VPN or proxy). Relink retries by itself, and a network problem never breaks a connection.',
  ),
  refreshExpired: w(
    'refresh-token-expired',
    'likely',
    'reconnect',
    'The connection expired after a long time unused',
    'A connection to Xero stays signed in only if it is used at least once every 60 days. This one went quiet for longer — common with seasonal clients — and Xero let it lapse.',
    'Reconnect it once. Relink then keeps it renewed in the background so it cannot lapse again.',
  ),
  passwordChanged: w(
    'password-changed',
    'possible',
    'reconnect',
    "A Xero password change can disconnect that person's apps",
    'When someone changes or resets their Xero password, connections they authorised may stop working, all at about the same time.',
    "Reconnect each affected app with that person's login. Relink groups connections by person so they can be reconnected together.",
  ),
  staffRemoved: w(
    'staff-removed',
    'possible',
    'reconnect',
    'The person who connected the app lost access',
    'Connections belong to the person who authorised them. When that person is removed from an organisation, or leaves the firm, the connections they made stop working.',
    'Reconnect the affected apps with the login of someone who still has access. Before removing a person, move their connections to a colleague.',
  ),
  tokenReplaced: w(
    'token-replaced',
    'possible',
    'reconnect',
    'A newer sign-in replaced this connection',
    'The organisation was connected to the same app again from somewhere else, and Xero now only accepts the newer connection.',
    'Decide which copy should look after the organisation, and reconnect there. Keep one copy of each connection.',
  ),
} satisfies Record<string, Words>;

// ————————————————————————————————————————————————————————————— the rules, most specific first

type Rule = [when: (f: Features) => boolean, words: Words | ((f: Features) => Words)];

const has = (re: RegExp) => (f: Features) => re.test(f.text);
const status = (...codes: number[]) => (f: Features) => codes.some((c) => f.statuses.has(c));
const legacy = (problem: string) => (f: Features) => f.text.includes(problem);

const RULES: Rule[] = [
  [has(/\b(?:keychain|keyring|secret service|libsecret|credential manager)\b.*\b(?:locked|unavailable|not available|denied|cannot|could not|failed)\b/), W.keychain],
  // timestamp_refused (OAuth 1.0a) is stamped by whoever signed the request, often a vendor's server: its own words.
  [legacy('timestamp_refused'), W.legacyTimestamp],
  [has(/not active yet|\bnbf\b|clock ?skew|issued in the future|iat.{0,20}future|timestamp is too (?:old|far)|too far in the future|\bclock\b.{0,40}\b(?:wrong|out of sync|behind|ahead|off)\b/), (f) =>
    /not active yet/.test(f.text) ? { ...W.clock, confidence: 'confirmed' } : W.clock],
  [has(/connectionlimit|connection limit|maximum number of (?:tenants|organi[sz]ations|connections)|tenant limit/), W.connectionLimit],
  [has(/does not match an expected (?:request|access) token/), W.legacyMismatch],
  [(f) => (legacy('token_rejected')(f) && /revoked|not been authori[sz]ed/.test(f.text)) || /access token has not been authori[sz]ed|revoked by the user/.test(f.text), W.legacyRevoked],
  [legacy('token_rejected'), W.legacyRejected],
  [has(/token_expired|oauth_problem=token expired|access token has expired/), W.legacyExpired],
  [has(/signature_method_rejected|no certificates have been registered/), W.legacyCertificate],
  [has(/signature_invalid|failed to validate signature/), W.legacySignature],
  [has(/consumer_key_unknown|consumer key was not recogni[sz]ed/), W.legacyConsumerUnknown],
  [has(/nonce_used|nonce has already been used/), W.legacyNonce],
  [has(/parameter_rejected|not the registered callback domain/), W.redirect],
  [legacy('permission_denied'), W.legacyPermission],
  [(f) => has(/invalid_grant|token has been expired or revoked/)(f) && /authori[sz]ation_code|code_verifier|authori[sz]ation code|\bcode (?:has )?(?:expired|already been used|was already used)/.test(f.text), W.codeRefused],
  [has(/invalid_grant|token has been expired or revoked|refresh token (?:is |was |has been )?(?:invalid|revoked|not valid)/), W.invalidGrant],
  [has(/invalid_client/), W.invalidClient],
  [has(/invalid redirect_?uri|redirect_?uri (?:is )?(?:invalid|mismatch|not registered)|redirect uri mismatch/), W.redirect],
  [has(/invalid scope for client/), W.scopeForClient],
  [has(/unknown client|client not enabled/), W.unknownClient],
  [has(/unauthori[sz]ed_client/), W.unauthorizedClient],
  [has(/invalid_scope/), W.invalidScope],
  [has(/access_denied/), W.accessDenied],
  [has(/unsupported_grant_type|invalid_request/), W.badRequest],
  [has(/tokenexpired|token expired at/), W.tokenExpired],
  [has(/insufficient_scope/), W.scopeMissing],
  [has(/authori[sz]ationunsuccessful/), W.roleRestricted],
  [(f) => status(429)(f) || /rate limit exceeded|rate limit|x-rate-limit-problem|too many requests|throttl/.test(f.text), (f) => {
    switch (f.limit) {
      case 'minute':
        return W.rateMinute;
      case 'day':
        return W.rateDay;
      case 'concurrent':
        return W.rateConcurrent;
      case 'appminute':
        return W.rateApp;
      default:
        return W.rate;
    }
  }],
  [has(/offline for maintenance|down for maintenance|scheduled maintenance/), W.maintenance],
  [has(/organi[sz]ation (?:is )?offline/), W.orgOffline],
  [has(/insufficientpermissions|insufficient permissions|necessary permissions|(?:not|no|lack(?:s)?) (?:have )?(?:the )?(?:required )?permissions? (?:to|for)/), W.insufficientPermissions],
  // Xero's own 403 names AuthenticationUnsuccessful (xero-protocol.md §5.2); a bare 403 could be anyone's refusal.
  [(f) => status(403)(f), (f) => (/authenticationunsuccessful/.test(f.text) ? W.forbidden : W.forbiddenBare)],
  [(f) => status(401)(f) || /authenticationunsuccessful|invalid_token|invalid (?:access )?token|token (?:is )?(?:invalid|not valid)/.test(f.text), W.unauthenticated],
  [has(/<html|<!doctype|<head>|<body|<title>|captive portal|proxy (?:error|authentication)|\bnginx\b|cloudflare/), W.proxy],
  [(f) => [...f.statuses].some((s) => s >= 500), W.serverError],
  [has(/econnreset|econnrefused|etimedout|enotfound|eai_again|enetunreach|socket hang up|fetch failed|network (?:error|is unreachable)|getaddrinfo|timed out|\btimeout\b|certificate|self[- ]signed|unable to verify|could not resolve|no internet/), W.network],
  [has(/refresh token (?:has |had )?expired|(?:60|sixty) days|not (?:been )?used (?:for|in) (?:over |more than )?(?:two months|60 days)/), W.refreshExpired],
  [has(/password (?:was |has been |had been )?(?:changed|reset)|chang(?:ed|ing) (?:my|their|his|her|the) (?:xero )?password|mfa (?:was )?reset/), W.passwordChanged],
  [has(/second authentication|replaced (?:the|this) connection|connected (?:again|twice) (?:from|elsewhere)/), W.tokenReplaced],
  [has(/(?:user|staff member|adviser|advisor) (?:was |has been )?(?:removed|deleted)|left the (?:firm|practice|company)|no longer has access/), W.staffRemoved],
];

const UNKNOWN: Explanation = {
  matched: false,
  cause: null,
  confidence: 'possible',
  action: 'none',
  title: "Relink doesn't recognise this message",
  whatHappened:
    "This doesn't look like any of the Xero connection or sign-in errors Relink knows. It may come from the app itself rather than from Xero, or only part of the message was copied.",
  fix:
    "Copy the whole message — including any number such as 401, 403 or 429 and any word joined with underscores, like invalid_grant — and paste it again. Meanwhile, check the connection in Relink: if it shows as healthy, the problem is inside the app; if several connections of one person broke together, reconnect that person's connections.",
  codes: [],
};

const EMPTY: Explanation = {
  ...UNKNOWN,
  title: 'Paste an error message',
  whatHappened: 'There is no text to explain yet.',
  fix: 'Paste the error exactly as the app, Xero or the email showed it. Relink never sends it anywhere.',
};

/** Turns a pasted error into cause and fix. Never throws; never echoes the input. */
export function explainError(text: string): Explanation {
  if (typeof text !== 'string' || !text.trim()) return { ...EMPTY, codes: [] };
  const f = readFeatures(text);
  const codes = codesOf(f);
  for (const [when, words] of RULES) {
    if (when(f)) return { matched: true, ...(typeof words === 'function' ? words(f) : words), codes };
  }
  return { ...UNKNOWN, codes };
}
