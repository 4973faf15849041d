import { TERMINAL_FAILURES, type Cause, type Connection, type Grant, type Health } from '../../shared/domain.js';
import type { HealthContext } from './context.js';
import { fixFor } from './fixes.js';
import { transientCause } from './rules/outages.js';
import type { Finding, GrantVerdict, Verdict } from './types.js';

const DAY = 86_400_000;
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

/** What the verdicts read besides the facts: the combined findings and what the rules claimed. */
export interface Claims {
  findings: readonly Finding[];
  /** The keychain finding, when it makes every grant unverified. */
  locked: Finding | undefined;
  /** Grant id → finding key, from the rules that judge grants, first match wins (highest rank first). */
  explains: ReadonlyArray<ReadonlyMap<string, string>>;
  /** Connections a newer authorisation took over. */
  superseded: ReadonlySet<string>;
}

/**
 * Verdicts: each grant takes the finding its rules claimed for it, else the first finding covering one of its
 * connections, else its own state; each connection takes the first finding covering it, else its grant's.
 */
export function verdicts(ctx: HealthContext, claims: Claims): { grants: Record<string, GrantVerdict>; connections: Record<string, Verdict> } {
  const { findings, locked, superseded } = claims;
  const byKey = new Map(findings.map((f) => [f.key, f]));
  const findingFor = new Map<string, Finding>();
  for (const f of findings) for (const id of f.connectionIds) if (!findingFor.has(id)) findingFor.set(id, f);
  const grantFinding = new Map<string, Finding>();
  for (const f of findings) {
    for (const id of f.connectionIds) {
      const g = ctx.input.connections[id]?.grantId;
      if (g && !grantFinding.has(g)) grantFinding.set(g, f);
    }
  }
  const claimed = (g: Grant): Finding | undefined => {
    for (const map of claims.explains) {
      const key = map.get(g.id);
      if (key !== undefined) return byKey.get(key);
    }
    return grantFinding.get(g.id);
  };
  const grants: Record<string, GrantVerdict> = {};
  for (const g of ctx.grants) {
    grants[g.id] = locked
      ? { health: 'unverified', cause: locked.cause, confidence: locked.confidence, since: null, fix: locked.fix, daysLeft: ctx.daysLeft(g) }
      : grantVerdict(ctx, g, claimed(g));
  }
  const connections: Record<string, Verdict> = {};
  for (const c of Object.values(ctx.input.connections)) {
    connections[c.id] = connectionVerdict(c, grants[c.grantId], findingFor.get(c.id), superseded);
  }
  return { grants, connections };
}

function grantVerdict(ctx: HealthContext, g: Grant, f: Finding | undefined): GrantVerdict {
  const { settings } = ctx.input;
  const left = ctx.daysLeft(g);
  const idle = ctx.daysIdle(g);
  const lifetime = ctx.lifetimeDays(g);
  const from = (health: Health, since: string | null, cause: Cause | null = f?.cause ?? null): GrantVerdict => ({
    health,
    cause,
    confidence: cause ? (f?.cause === cause ? f.confidence : 'confirmed') : null,
    since,
    fix: cause ? (f?.cause === cause ? f.fix : fixFor(cause, { who: ctx.name.staff(g.staffId), app: ctx.name.app(g.appId) }, ctx.providers.ofApp(g.appId))) : null,
    daysLeft: left,
  });
  if (g.state === 'app-rejected') return from('app-broken', g.stateSince);
  if (g.state === 'revoked') return from('needs-reconnect', g.stateSince, f?.cause ?? 'grant-revoked');
  const failing = g.consecutiveFailures > 0 && g.lastFailure !== null && !TERMINAL_FAILURES.has(g.lastFailure.kind);
  // Its key is gone from a working keychain: nothing Relink can retry its way out of.
  if (failing && g.lastFailure!.kind === 'key-missing') return from('needs-reconnect', g.lastFailure!.at, 'key-missing');
  // Past the provider's lifetime the token is dead in all likelihood: it needs reconnecting, not "0 days left".
  // The grant itself stays active (only the provider's refusal marks it), so the engine still tries it and a
  // refresh that works after all makes it healthy again.
  if (idle >= lifetime) return from('needs-reconnect', iso(ms(g.refreshTokenIssuedAt) + lifetime * DAY), 'refresh-token-expired');
  if (idle >= settings.expiringAfterDays) {
    const cause = failing ? transientCause(g.lastFailure!) : null;
    return from('expiring', iso(ms(g.refreshTokenIssuedAt) + settings.expiringAfterDays * DAY), cause);
  }
  if (failing) return from('degraded', g.lastFailure!.at, transientCause(g.lastFailure!));
  if (g.lastRefreshAt === null && g.lastProbeAt === null) return { ...from('unverified', null, null), cause: null };
  return { health: 'healthy', cause: null, confidence: null, since: g.lastRefreshAt ?? g.lastProbeAt, fix: null, daysLeft: left };
}

function connectionVerdict(c: Connection, g: GrantVerdict | undefined, f: Finding | undefined, superseded: ReadonlySet<string>): Verdict {
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
