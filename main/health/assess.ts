// Over 500 lines: one pure assessment whose rules read each other's findings (a person's refused grants, then
// their organisations, then outages); splitting it into rule modules with explicit inputs is issue 11's next cut.
import {
  REFRESH_TOKEN_LIFETIME_DAYS,
  TERMINAL_FAILURES,
  type App,
  type Cause,
  type Confidence,
  type Connection,
  type Failure,
  type Fix,
  type Grant,
  type Health,
  type Organisation,
  type Settings,
  type StaffMember,
} from '../../shared/domain.js';
import type { KeychainState } from '../secrets/keychain.js';
import { fixFor, summaryFor, type Wording } from './fixes.js';

/**
 * Health and causes (DESIGN.md §4), computed from evidence across grants, staff, apps and organisations.
 * A pure function of the stored facts and the time: the engine records what happened (refresh outcomes,
 * `/connections` reads, API failures); this decides what it means. Being pure and deterministic is what keeps
 * incidents from flapping: the same facts always give the same findings.
 */
export interface HealthInput {
  apps: Readonly<Record<string, App>>;
  staff: Readonly<Record<string, StaffMember>>;
  organisations: Readonly<Record<string, Organisation>>;
  grants: Readonly<Record<string, Grant>>;
  connections: Readonly<Record<string, Connection>>;
  settings: Settings;
  now: number;
  keychain: KeychainState;
  /** Latest estimate of (Xero's clock − ours), from a response's Date header. */
  clockSkewMs: number | null;
}

export interface Verdict {
  health: Health;
  cause: Cause | null;
  confidence: Confidence | null;
  since: string | null;
  fix: Fix | null;
}

export interface GrantVerdict extends Verdict {
  /** Days until the stored refresh token dies if it is not used (0 when already past). */
  daysLeft: number;
}

/** One underlying event, before the incident lifecycle gives it an id and dates. */
export interface Finding {
  key: string;
  cause: Cause;
  confidence: Confidence;
  staffId: string | null;
  appId: string | null;
  tenantIds: string[];
  connectionIds: string[];
  summary: string;
  evidence: string[];
  fix: Fix;
}

export interface HealthReport {
  grants: Record<string, GrantVerdict>;
  connections: Record<string, Verdict>;
  findings: Finding[];
  /**
   * Connections another, newer authorisation of the same app has taken over (someone else reconnected the
   * organisation): history, not a problem. Their verdict is healthy with the cause `token-replaced`.
   */
  superseded: string[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** "1 hour", "3 hours": evidence is read by bookkeepers, never "hour(s)". */
function hours(n: number): string {
  return `${n} hour${n === 1 ? '' : 's'}`;
}

/** Failures of one person's grants this close together are read as one event (a password change). */
const SAME_EVENT_WINDOW = 24 * HOUR;
/** Organisations vanishing for one person this close together are read as one removal. */
const REMOVAL_WINDOW = 2 * HOUR;
const SKEW_THRESHOLD_MS = 5 * 60_000;

const CONFIDENCE_RANK: Record<Confidence, number> = { confirmed: 0, likely: 1, possible: 2 };


const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

function transientCause(f: Failure): Cause {
  switch (f.kind) {
    case 'rate-limited':
      return 'rate-limited';
    case 'clock-skew':
      return 'clock-skew';
    case 'keychain':
      return 'keychain-unavailable';
    case 'key-missing':
      return 'key-missing';
    case 'network':
    case 'timeout':
      return 'network';
    default:
      return 'provider-outage';
  }
}

export function assessHealth(input: HealthInput): HealthReport {
  const { grants, connections, staff, apps, organisations, settings, now } = input;
  const findings: Finding[] = [];
  const grantVerdicts: Record<string, GrantVerdict> = {};
  const connectionVerdicts: Record<string, Verdict> = {};

  const name = {
    staff: (id: string | null) => (id && staff[id]?.name) || (id && staff[id]?.email) || 'A staff member',
    app: (id: string | null) => (id && apps[id]?.name) || 'an app',
    org: (id: string) => organisations[id]?.name || 'an organisation',
  };
  const connectionsOf = new Map<string, Connection[]>();
  for (const c of Object.values(connections)) {
    const list = connectionsOf.get(c.grantId) ?? [];
    list.push(c);
    connectionsOf.set(c.grantId, list);
  }
  const grantConnections = (g: Grant) => connectionsOf.get(g.id) ?? [];
  const othersFine = (appIds: string[], staffId: string) =>
    Object.values(grants).some((g) => g.staffId !== staffId && appIds.includes(g.appId) && g.state === 'active');
  const daysIdle = (g: Grant) => (now - ms(g.refreshTokenIssuedAt)) / DAY;
  const daysLeft = (g: Grant) => Math.max(0, Math.ceil(REFRESH_TOKEN_LIFETIME_DAYS - daysIdle(g)));

  const finding = (f: Omit<Finding, 'summary' | 'fix'>, w: Wording): Finding => {
    // One event, one finding: two rules reaching the same key (a person marked leaving whose grants are refused
    // *and* whose organisations vanish) add their evidence to one finding instead of opening two incidents.
    const same = findings.find((x) => x.key === f.key);
    if (same) {
      same.tenantIds = [...new Set([...same.tenantIds, ...f.tenantIds])];
      same.connectionIds = [...new Set([...same.connectionIds, ...f.connectionIds])];
      same.evidence = [...same.evidence, ...f.evidence];
      if (same.appId !== f.appId) same.appId = null;
      if (CONFIDENCE_RANK[f.confidence] < CONFIDENCE_RANK[same.confidence]) same.confidence = f.confidence;
      same.summary = summaryFor(same.cause, { ...w, orgCount: same.tenantIds.length });
      return same;
    }
    const full = { ...f, summary: summaryFor(f.cause, w), fix: fixFor(f.cause, w) };
    findings.push(full);
    return full;
  };

  // ── The keychain: without it nothing can be verified, and that is a state, not "no connections". ──
  if (input.keychain !== 'available') {
    const all = Object.values(grants);
    const f = finding(
      {
        key: 'keychain-unavailable',
        cause: 'keychain-unavailable',
        confidence: 'confirmed',
        staffId: null,
        appId: null,
        tenantIds: [...new Set(Object.values(connections).map((c) => c.tenantId))],
        connectionIds: Object.keys(connections),
        evidence: [`The keychain is ${input.keychain}: a test entry could not be written and read back.`],
      },
      {},
    );
    for (const g of all) {
      grantVerdicts[g.id] = { health: 'unverified', cause: f.cause, confidence: f.confidence, since: null, fix: f.fix, daysLeft: daysLeft(g) };
    }
  }

  // ── Keys gone from a keychain that works: only a new consent stores one again, so each is its own finding. ──
  const keyMissing = new Map<string, Finding>();
  if (input.keychain === 'available') {
    for (const g of Object.values(grants)) {
      if (g.state !== 'active' || g.consecutiveFailures === 0 || g.lastFailure?.kind !== 'key-missing') continue;
      const conns = grantConnections(g);
      keyMissing.set(g.id, finding(
        {
          key: `key-missing:grant:${g.id}`,
          cause: 'key-missing',
          confidence: 'confirmed',
          staffId: g.staffId,
          appId: g.appId,
          tenantIds: [...new Set(conns.map((c) => c.tenantId))],
          connectionIds: conns.map((c) => c.id),
          evidence: ['The keychain is unlocked and answered, but it holds no key for this connection.'],
        },
        { who: name.staff(g.staffId), app: name.app(g.appId), orgCount: conns.length },
      ));
    }
  }

  // ── Grants Xero refused for good: why, judged across each person's and each app's grants. ──
  const byStaff = new Map<string, Grant[]>();
  for (const g of Object.values(grants)) {
    const list = byStaff.get(g.staffId) ?? [];
    list.push(g);
    byStaff.set(g.staffId, list);
  }
  const explained = new Set<string>();
  /** The finding that judged a refused grant, so its verdict says why even when it reaches no organisation. */
  const ownFinding = new Map<string, Finding>();
  for (const [staffId, own] of byStaff) {
    const dead = own.filter((g) => g.state === 'revoked');
    if (dead.length === 0) continue;
    const person = staff[staffId];
    const who = name.staff(staffId);
    // Tokens that simply outlived 60 idle days say so themselves.
    for (const g of dead) {
      const idleAtFailure = (ms(g.stateSince) - ms(g.refreshTokenIssuedAt)) / DAY;
      if (idleAtFailure < REFRESH_TOKEN_LIFETIME_DAYS) continue;
      explained.add(g.id);
      ownFinding.set(g.id, finding(
        {
          key: `refresh-token-expired:grant:${g.id}`,
          cause: 'refresh-token-expired',
          confidence: 'confirmed',
          staffId,
          appId: g.appId,
          tenantIds: grantConnections(g).map((c) => c.tenantId),
          connectionIds: grantConnections(g).map((c) => c.id),
          evidence: [
            `Last successful refresh ${Math.floor(idleAtFailure)} days before Xero refused it (Xero's limit is ${REFRESH_TOKEN_LIFETIME_DAYS}).`,
          ],
        },
        { who, app: name.app(g.appId), orgCount: grantConnections(g).length },
      ));
    }
    const rest = dead.filter((g) => !explained.has(g.id));
    if (rest.length === 0) continue;
    const tenants = [...new Set(rest.flatMap((g) => grantConnections(g).map((c) => c.tenantId)))];
    const connIds = rest.flatMap((g) => grantConnections(g).map((c) => c.id));
    const appIds = [...new Set(rest.map((g) => g.appId))];
    const base = { staffId, appId: appIds.length === 1 ? appIds[0]! : null, tenantIds: tenants, connectionIds: connIds };
    const wording: Wording = { who, appCount: appIds.length, orgCount: tenants.length, app: name.app(appIds[0] ?? null) };
    const times = rest.map((g) => ms(g.stateSince));
    const together = Math.max(...times) - Math.min(...times) <= SAME_EVENT_WINDOW;
    // Grants that came through the event: active since before it and refreshed after it. A grant reconnected
    // since (its approval is newer than the failures) is the fix arriving, not evidence of a one-off revocation.
    const stillWorking = own.filter(
      (g) => g.state === 'active' && g.lastRefreshAt && ms(g.lastRefreshAt) > Math.max(...times) && ms(g.stateSince) <= Math.min(...times),
    );
    for (const g of rest) explained.add(g.id);
    let judged: Finding;
    if (person && person.status !== 'active') {
      judged = finding(
        {
          ...base,
          key: `staff-removed:staff:${staffId}`,
          cause: 'staff-removed',
          confidence: 'likely',
          evidence: [`${who} is marked as ${person.status} in Relink.`, `Xero refused ${rest.length} of their connection${rest.length === 1 ? '' : 's'} (invalid_grant).`],
        },
        wording,
      );
    } else if (rest.length >= 2 && together && stillWorking.length === 0) {
      judged = finding(
        {
          ...base,
          key: `password-changed:staff:${staffId}`,
          cause: 'password-changed',
          confidence: 'likely',
          evidence: [
            `Every one of ${who}'s ${rest.length} connections was refused by Xero (invalid_grant) within ${hours(Math.max(1, Math.ceil((Math.max(...times) - Math.min(...times)) / HOUR)))}.`,
            ...(othersFine(appIds, staffId) ? ['Other staff members’ connections to the same apps kept working.'] : []),
          ],
        },
        wording,
      );
    } else {
      judged = finding(
        {
          ...base,
          key: `${stillWorking.length === 0 ? 'password-changed' : 'grant-revoked'}:staff:${staffId}`,
          cause: stillWorking.length === 0 ? 'password-changed' : 'grant-revoked',
          confidence: 'possible',
          evidence: [
            `Xero refused ${who}'s connection${rest.length === 1 ? '' : 's'} to ${appIds.map((a) => name.app(a)).join(', ')} (invalid_grant).`,
            stillWorking.length === 0
              ? 'A password change is the usual reason; a revoked approval or a removed Xero login looks the same.'
              : `Their other connections still work, so this approval was probably revoked on its own.`,
          ],
        },
        wording,
      );
    }
    for (const g of rest) ownFinding.set(g.id, judged);
  }

  // ── Working grants whose refresh token has outlived Xero's idle lifetime: expired in all likelihood, before any
  // refresh has been refused. Same key as the refused case above, so the incident carries on when a check confirms it.
  for (const g of Object.values(grants)) {
    if (g.state !== 'active' || daysIdle(g) < REFRESH_TOKEN_LIFETIME_DAYS) continue;
    const conns = grantConnections(g);
    ownFinding.set(
      g.id,
      finding(
        {
          key: `refresh-token-expired:grant:${g.id}`,
          cause: 'refresh-token-expired',
          // Xero's rule, not yet Xero's answer: likely, until a refresh is refused (confirmed) or succeeds (gone).
          confidence: 'likely',
          staffId: g.staffId,
          appId: g.appId,
          tenantIds: conns.map((c) => c.tenantId),
          connectionIds: conns.map((c) => c.id),
          evidence: [
            `Relink last renewed this connection ${Math.floor(daysIdle(g))} days ago; Xero ends connections after ${REFRESH_TOKEN_LIFETIME_DAYS} days without renewal. The next check confirms it.`,
          ],
        },
        { who: name.staff(g.staffId), app: name.app(g.appId), orgCount: conns.length },
      ),
    );
  }

  // ── Apps whose credentials Xero rejects: one incident per app, however many grants it has. ──
  const rejectedByApp = new Map<string, Grant[]>();
  for (const g of Object.values(grants)) {
    if (g.state !== 'app-rejected') continue;
    rejectedByApp.set(g.appId, [...(rejectedByApp.get(g.appId) ?? []), g]);
  }
  for (const [appId, list] of rejectedByApp) {
    const app = apps[appId];
    const creator = app?.createdBy ? Object.values(staff).find((s) => s.id === app.createdBy || s.email === app.createdBy) : undefined;
    const creatorGone = creator !== undefined && creator.status !== 'active';
    const unknownClient = list.some((g) => g.lastFailure?.kind === 'unauthorized-client');
    // A PKCE app has no secret that could have been rotated: Xero refusing its client id means the app is gone.
    const noSecret = app?.authType === 'pkce';
    const cause: Cause = creatorGone || unknownClient || noSecret ? 'app-deleted' : 'credentials-rotated';
    const all = Object.values(grants).filter((g) => g.appId === appId);
    const conns = list.flatMap(grantConnections);
    const f = finding(
      {
        key: `${cause}:app:${appId}`,
        cause,
        confidence: list.length === all.length ? 'likely' : 'possible',
        staffId: null,
        appId,
        tenantIds: [...new Set(conns.map((c) => c.tenantId))],
        connectionIds: conns.map((c) => c.id),
        evidence: [
          `Xero rejected the app's credentials for ${list.length} of its ${all.length} sign-in${all.length === 1 ? '' : 's'} (${list[0]!.lastFailure?.detail ?? 'invalid_client'}).`,
          ...(creatorGone ? [`The app was created by ${creator!.name || creator!.email}, who is marked as ${creator!.status}.`] : []),
          ...(noSecret && !creatorGone && !unknownClient ? ['It is a PKCE app, which has no client secret to rotate: Xero no longer knows its client id.'] : []),
        ],
      },
      { app: app?.name, orgCount: new Set(conns.map((c) => c.tenantId)).size },
    );
    for (const g of list) ownFinding.set(g.id, f);
  }

  // ── Organisations missing from an otherwise working grant's /connections. ──
  const missing = Object.values(connections).filter((c) => !c.present && grants[c.grantId]?.state === 'active');
  const missingByStaff = new Map<string, Connection[]>();
  for (const c of missing) missingByStaff.set(c.staffId, [...(missingByStaff.get(c.staffId) ?? []), c]);
  const missingExplained = new Set<string>();
  const superseded = new Set<string>();
  for (const c of missing) {
    // The same app now reaches this organisation through another, newer grant: replaced, not lost.
    const successor = Object.values(connections).find(
      (o) =>
        o.id !== c.id &&
        o.present &&
        o.appId === c.appId &&
        o.tenantId === c.tenantId &&
        o.grantId !== c.grantId &&
        // A refused grant's last listing is history: it reaches nothing now and cannot have taken over.
        grants[o.grantId]?.state === 'active',
    );
    if (!successor) continue;
    missingExplained.add(c.id);
    superseded.add(c.id);
    finding(
      {
        key: `token-replaced:grant:${c.grantId}:tenant:${c.tenantId}`,
        cause: 'token-replaced',
        confidence: 'likely',
        staffId: c.staffId,
        appId: c.appId,
        tenantIds: [c.tenantId],
        connectionIds: [c.id],
        evidence: [
          `${name.org(c.tenantId)} no longer appears in this sign-in's connections, but it does under ${name.staff(successor.staffId)}'s newer authorisation.`,
        ],
      },
      { app: name.app(c.appId), org: name.org(c.tenantId) },
    );
  }
  for (const [staffId, list] of missingByStaff) {
    const open = list.filter((c) => !missingExplained.has(c.id));
    const tenants = [...new Set(open.map((c) => c.tenantId))];
    const times = open.map((c) => ms(c.missingSince ?? c.lastSeenAt));
    const together = times.length > 0 && Math.max(...times) - Math.min(...times) <= REMOVAL_WINDOW;
    // The person's access went, not one app's: several organisations at once, the same organisation
    // across several apps, or a person already marked as leaving.
    const acrossApps = tenants.some((t) => new Set(open.filter((c) => c.tenantId === t).map((c) => c.appId)).size >= 2);
    const leaving = (staff[staffId]?.status ?? 'active') !== 'active';
    if (open.length > 0 && together && (tenants.length >= 2 || acrossApps || leaving)) {
      for (const c of open) missingExplained.add(c.id);
      finding(
        {
          key: `staff-removed:staff:${staffId}`,
          cause: 'staff-removed',
          confidence: (staff[staffId]?.status ?? 'active') === 'active' ? 'likely' : 'confirmed',
          staffId,
          appId: null,
          tenantIds: tenants,
          connectionIds: open.map((c) => c.id),
          evidence: [
            tenants.length >= 2
              ? `${tenants.length} organisations disappeared from ${name.staff(staffId)}'s connections at about the same time, while their sign-ins kept refreshing.`
              : `${name.org(tenants[0]!)} disappeared from ${acrossApps ? `all of ${name.staff(staffId)}'s apps at once` : `${name.staff(staffId)}'s connections`}, while their sign-ins kept refreshing.`,
            ...(leaving ? [`${name.staff(staffId)} is marked as ${staff[staffId]!.status} in Relink.`] : []),
          ],
        },
        { who: name.staff(staffId), orgCount: tenants.length },
      );
    }
  }
  const missingByAppTenant = new Map<string, Connection[]>();
  for (const c of missing) {
    if (missingExplained.has(c.id)) continue;
    const key = `${c.appId}|${c.tenantId}`;
    missingByAppTenant.set(key, [...(missingByAppTenant.get(key) ?? []), c]);
  }
  for (const [key, list] of missingByAppTenant) {
    const [appId, tenantId] = key.split('|') as [string, string];
    finding(
      {
        key: `app-disconnected-in-org:app:${appId}:tenant:${tenantId}`,
        cause: 'app-disconnected-in-org',
        confidence: 'likely',
        staffId: list.length === 1 ? list[0]!.staffId : null,
        appId,
        tenantIds: [tenantId],
        connectionIds: list.map((c) => c.id),
        evidence: [
          `${name.org(tenantId)} is missing from Xero's list of connections for ${name.app(appId)}, while the rest of that sign-in still works.`,
        ],
      },
      { app: name.app(appId), org: name.org(tenantId) },
    );
  }

  // ── Per-organisation API refusals on connections that are still listed. ──
  for (const c of Object.values(connections)) {
    const f = c.lastApiFailure;
    if (!c.present || !f || grants[c.grantId]?.state !== 'active') continue;
    const cause: Cause | null =
      f.kind === 'insufficient-scope' ? 'scope-missing' : f.kind === 'role-restricted' ? 'role-restricted' : f.kind === 'forbidden' ? 'staff-removed' : null;
    if (!cause) continue;
    finding(
      {
        key: `${cause}:grant:${c.grantId}:tenant:${c.tenantId}`,
        cause,
        confidence: cause === 'scope-missing' ? 'confirmed' : cause === 'role-restricted' ? 'likely' : 'possible',
        staffId: c.staffId,
        appId: c.appId,
        tenantIds: [c.tenantId],
        connectionIds: [c.id],
        evidence: [`Xero answered ${f.detail} for ${name.org(c.tenantId)}.`],
      },
      { who: name.staff(c.staffId), app: name.app(c.appId), org: name.org(c.tenantId), orgCount: 1 },
    );
  }

  // ── The clock: Xero rejects tokens and signatures when this computer's time is far off. ──
  if (input.clockSkewMs !== null && Math.abs(input.clockSkewMs) >= SKEW_THRESHOLD_MS) {
    const minutes = Math.round(Math.abs(input.clockSkewMs) / 60_000);
    finding(
      {
        key: 'clock-skew',
        cause: 'clock-skew',
        confidence: 'likely',
        staffId: null,
        appId: null,
        tenantIds: [],
        connectionIds: [],
        evidence: [`Xero's clock reads ${minutes} minutes ${input.clockSkewMs > 0 ? 'ahead of' : 'behind'} this computer's (from its Date header).`],
      },
      { minutes },
    );
  }

  // ── Transient trouble across many grants at once is one outage, not many problems. ──
  const active = Object.values(grants).filter((g) => g.state === 'active');
  const struggling = active.filter((g) => g.consecutiveFailures > 0 && g.lastFailure && !TERMINAL_FAILURES.has(g.lastFailure.kind));
  const byClass = new Map<Cause, Grant[]>();
  for (const g of struggling) {
    const c = transientCause(g.lastFailure!);
    byClass.set(c, [...(byClass.get(c) ?? []), g]);
  }
  for (const [cause, list] of byClass) {
    if (cause === 'keychain-unavailable' || cause === 'key-missing' || cause === 'clock-skew') continue;
    if (list.length < 2 || list.length * 2 < active.length) continue;
    const conns = list.flatMap(grantConnections);
    finding(
      {
        key: `${cause}:all`,
        cause,
        confidence: 'possible',
        staffId: null,
        appId: null,
        tenantIds: [...new Set(conns.map((c) => c.tenantId))],
        connectionIds: conns.map((c) => c.id),
        evidence: [`${list.length} of ${active.length} working sign-ins failed their last attempt (${list[0]!.lastFailure!.detail}); none was marked broken.`],
      },
      {},
    );
  }

  // ── Verdicts: each grant and connection takes the finding that covers it, else its own state. ──
  const findingFor = new Map<string, Finding>();
  for (const f of findings) for (const id of f.connectionIds) if (!findingFor.has(id)) findingFor.set(id, f);
  const grantFinding = new Map<string, Finding>();
  for (const f of findings) {
    for (const id of f.connectionIds) {
      const g = connections[id]?.grantId;
      if (g && !grantFinding.has(g)) grantFinding.set(g, f);
    }
  }
  for (const g of Object.values(grants)) {
    if (grantVerdicts[g.id]) continue;
    grantVerdicts[g.id] = grantVerdict(g, ownFinding.get(g.id) ?? keyMissing.get(g.id) ?? grantFinding.get(g.id));
  }
  for (const c of Object.values(connections)) {
    connectionVerdicts[c.id] = connectionVerdict(c, grantVerdicts[c.grantId], findingFor.get(c.id));
  }
  return { grants: grantVerdicts, connections: connectionVerdicts, findings, superseded: [...superseded] };

  function grantVerdict(g: Grant, f: Finding | undefined): GrantVerdict {
    const left = daysLeft(g);
    const idle = daysIdle(g);
    const from = (health: Health, since: string | null, cause: Cause | null = f?.cause ?? null): GrantVerdict => ({
      health,
      cause,
      confidence: cause ? (f?.cause === cause ? f.confidence : 'confirmed') : null,
      since,
      fix: cause ? (f?.cause === cause ? f.fix : fixFor(cause, { who: name.staff(g.staffId), app: name.app(g.appId) })) : null,
      daysLeft: left,
    });
    if (g.state === 'app-rejected') return from('app-broken', g.stateSince);
    if (g.state === 'revoked') return from('needs-reconnect', g.stateSince, f?.cause ?? 'grant-revoked');
    const failing = g.consecutiveFailures > 0 && g.lastFailure !== null && !TERMINAL_FAILURES.has(g.lastFailure.kind);
    // Its key is gone from a working keychain: nothing Relink can retry its way out of.
    if (failing && g.lastFailure!.kind === 'key-missing') return from('needs-reconnect', g.lastFailure!.at, 'key-missing');
    // Past Xero's 60 idle days the token is dead in all likelihood: it needs reconnecting, not "0 days left". The
    // grant itself stays active (only Xero's refusal marks it), so the engine still tries it and a refresh that
    // works after all makes it healthy again.
    if (idle >= REFRESH_TOKEN_LIFETIME_DAYS) {
      return from('needs-reconnect', iso(ms(g.refreshTokenIssuedAt) + REFRESH_TOKEN_LIFETIME_DAYS * DAY), 'refresh-token-expired');
    }
    if (idle >= settings.expiringAfterDays) {
      const cause = failing ? transientCause(g.lastFailure!) : null;
      return from('expiring', iso(ms(g.refreshTokenIssuedAt) + settings.expiringAfterDays * DAY), cause);
    }
    if (failing) return from('degraded', g.lastFailure!.at, transientCause(g.lastFailure!));
    if (g.lastRefreshAt === null && g.lastProbeAt === null) return { ...from('unverified', null, null), cause: null };
    return { health: 'healthy', cause: null, confidence: null, since: g.lastRefreshAt ?? g.lastProbeAt, fix: null, daysLeft: left };
  }

  function connectionVerdict(c: Connection, g: GrantVerdict | undefined, f: Finding | undefined): Verdict {
    const own = (health: Health, since: string | null): Verdict => ({
      health,
      cause: f?.cause ?? g?.cause ?? null,
      confidence: f?.confidence ?? g?.confidence ?? null,
      since,
      fix: f?.fix ?? g?.fix ?? null,
    });
    if (!g) return { health: 'unverified', cause: null, confidence: null, since: null, fix: null };
    // The organisation is reached through a newer authorisation now; this record is its history.
    if (superseded.has(c.id)) return { health: 'healthy', cause: 'token-replaced', confidence: 'likely', since: c.missingSince, fix: f?.fix ?? null };
    if (g.health === 'needs-reconnect' || g.health === 'app-broken' || g.health === 'unverified') return own(g.health, g.since);
    if (!c.present) return own('disconnected', c.missingSince);
    if (c.lastApiFailure && f && ['scope-missing', 'role-restricted', 'staff-removed'].includes(f.cause)) {
      return own('forbidden', c.lastApiFailure.at);
    }
    return { health: g.health, cause: g.cause, confidence: g.confidence, since: g.since, fix: g.fix };
  }
}
