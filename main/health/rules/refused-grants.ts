import type { Grant } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft, RuleResult } from '../findings.js';
import type { Wording } from '../fixes.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Failures of one person's grants this close together are read as one event (a password change). */
const SAME_EVENT_WINDOW = 24 * HOUR;

/** "1 hour", "3 hours": evidence is read by bookkeepers, never "hour(s)". */
const hours = (n: number) => `${n} hour${n === 1 ? '' : 's'}`;
const ms = (iso: string) => Date.parse(iso);

/**
 * Grants the provider refused for good, and why, judged across each person's grants: a token that simply
 * outlived its lifetime says so itself; the rest of a person's refusals are one event, read from who they are
 * (marked leaving), how many failed together, and whether any of their grants came through it.
 */
export function refusedGrantsRule(ctx: HealthContext): RuleResult {
  const byStaff = new Map<string, Grant[]>();
  for (const g of ctx.grants) byStaff.set(g.staffId, [...(byStaff.get(g.staffId) ?? []), g]);
  const findings: Draft[] = [];
  const explains = new Map<string, string>();
  for (const [staffId, own] of byStaff) {
    const dead = own.filter((g) => g.state === 'revoked');
    if (dead.length === 0) continue;
    const rest: Grant[] = [];
    for (const g of dead) {
      const expired = expiredAtRefusal(ctx, g);
      if (!expired) {
        rest.push(g);
        continue;
      }
      findings.push(expired);
      explains.set(g.id, expired.facts.key);
    }
    if (rest.length === 0) continue;
    const judged = judgePerson(ctx, staffId, own, rest);
    findings.push(judged);
    for (const g of rest) explains.set(g.id, judged.facts.key);
  }
  return { findings, explains };
}

/** A refused grant whose token had already outlived its provider's lifetime when it was refused, or null. */
function expiredAtRefusal(ctx: HealthContext, g: Grant): Draft | null {
  const provider = ctx.providers.ofApp(g.appId);
  const { name } = provider.terms;
  const { refreshTokenLifetimeDays: lifetime, refreshTokenRolling } = provider.policy;
  const idleAtFailure = (ms(g.stateSince) - ms(g.refreshTokenIssuedAt)) / DAY;
  if (idleAtFailure < lifetime) return null;
  const conns = ctx.connectionsOf(g);
  const days = Math.floor(idleAtFailure);
  return {
    facts: {
      key: `refresh-token-expired:grant:${g.id}`,
      cause: 'refresh-token-expired',
      confidence: 'confirmed',
      staffId: g.staffId,
      appId: g.appId,
      tenantIds: conns.map((c) => c.tenantId),
      connectionIds: conns.map((c) => c.id),
      evidence: [
        refreshTokenRolling
          ? `Last successful refresh ${days} days before ${name} refused it (${name}'s limit is ${lifetime}).`
          : `The stored token was issued ${days} days before ${name} refused it (${name}'s limit is ${lifetime}, however often it is used).`,
      ],
    },
    wording: { who: ctx.name.staff(g.staffId), app: ctx.name.app(g.appId), orgCount: conns.length },
    provider,
  };
}

/** One person's other refused grants (`rest`), read as one event against all their grants (`own`). */
function judgePerson(ctx: HealthContext, staffId: string, own: readonly Grant[], rest: readonly Grant[]): Draft {
  const person = ctx.input.staff[staffId];
  const who = ctx.name.staff(staffId);
  const conns = rest.flatMap((g) => ctx.connectionsOf(g));
  const tenants = [...new Set(conns.map((c) => c.tenantId))];
  const appIds = [...new Set(rest.map((g) => g.appId))];
  // One person is one login at one provider, so their grants share it (provider-facts.ts says how it is chosen otherwise).
  const provider = ctx.providers.among(appIds);
  const { name, login } = provider.terms;
  const base = { staffId, appId: appIds.length === 1 ? appIds[0]! : null, tenantIds: tenants, connectionIds: conns.map((c) => c.id) };
  const wording: Wording = { who, appCount: appIds.length, orgCount: tenants.length, app: ctx.name.app(appIds[0] ?? null) };
  const times = rest.map((g) => ms(g.stateSince));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const together = last - first <= SAME_EVENT_WINDOW;
  // Grants that came through the event: active since before it and refreshed after it. A grant reconnected
  // since (its approval is newer than the failures) is the fix arriving, not evidence of a one-off revocation.
  const stillWorking = own.filter((g) => g.state === 'active' && g.lastRefreshAt && ms(g.lastRefreshAt) > last && ms(g.stateSince) <= first);
  // Only where a password change ends every grant at once (Xero) does "all of them failed" point at one.
  const passwordKills = provider.policy.passwordChangeRevokesGrants;
  const s = rest.length === 1 ? '' : 's';
  if (person && person.status !== 'active') {
    return {
      facts: {
        ...base,
        key: `staff-removed:staff:${staffId}`,
        cause: 'staff-removed',
        confidence: 'likely',
        evidence: [`${who} is marked as ${person.status} in Relink.`, `${name} refused ${rest.length} of their connection${s} (invalid_grant).`],
      },
      wording,
      provider,
    };
  }
  if (passwordKills && rest.length >= 2 && together && stillWorking.length === 0) {
    const othersFine = ctx.grants.some((g) => g.staffId !== staffId && appIds.includes(g.appId) && g.state === 'active');
    return {
      facts: {
        ...base,
        key: `password-changed:staff:${staffId}`,
        cause: 'password-changed',
        confidence: 'likely',
        evidence: [
          `Every one of ${who}'s ${rest.length} connections was refused by ${name} (invalid_grant) within ${hours(Math.max(1, Math.ceil((last - first) / HOUR)))}.`,
          ...(othersFine ? ['Other staff members’ connections to the same apps kept working.'] : []),
        ],
      },
      wording,
      provider,
    };
  }
  const cause = stillWorking.length === 0 && passwordKills ? 'password-changed' : 'grant-revoked';
  return {
    facts: {
      ...base,
      key: `${cause}:staff:${staffId}`,
      cause,
      confidence: 'possible',
      evidence: [
        `${name} refused ${who}'s connection${s} to ${appIds.map((a) => ctx.name.app(a)).join(', ')} (invalid_grant).`,
        stillWorking.length > 0
          ? 'Their other connections still work, so this approval was probably revoked on its own.'
          : passwordKills
            ? `A password change is the usual reason; a revoked approval or a removed ${login} looks the same.`
            : `The approval was revoked or the ${login} removed; the two look the same from here.`,
      ],
    },
    wording,
    provider,
  };
}
