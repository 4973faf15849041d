import { TERMINAL_FAILURES, type Cause, type Failure, type Grant } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

/** The cause a passing failure stands for: what the grant's verdict says while it retries. */
export function transientCause(f: Failure): Cause {
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

/**
 * Transient trouble across many grants at once is one outage, not many problems: at least two, and at least
 * half of the working grants, failing their last attempt the same way. Keychain, key and clock trouble have
 * rules of their own.
 */
export function outagesRule(ctx: HealthContext): { findings: Draft[] } {
  const active = ctx.grants.filter((g) => g.state === 'active');
  const struggling = active.filter((g) => g.consecutiveFailures > 0 && g.lastFailure && !TERMINAL_FAILURES.has(g.lastFailure.kind));
  const byClass = new Map<Cause, Grant[]>();
  for (const g of struggling) {
    const c = transientCause(g.lastFailure!);
    byClass.set(c, [...(byClass.get(c) ?? []), g]);
  }
  const findings: Draft[] = [];
  for (const [cause, list] of byClass) {
    if (cause === 'keychain-unavailable' || cause === 'key-missing' || cause === 'clock-skew') continue;
    if (list.length < 2 || list.length * 2 < active.length) continue;
    const conns = list.flatMap((g) => ctx.connectionsOf(g));
    findings.push({
      facts: {
        key: `${cause}:all`,
        cause,
        confidence: 'possible',
        staffId: null,
        appId: null,
        tenantIds: [...new Set(conns.map((c) => c.tenantId))],
        connectionIds: conns.map((c) => c.id),
        evidence: [`${list.length} of ${active.length} working sign-ins failed their last attempt (${list[0]!.lastFailure!.detail}); none was marked broken.`],
      },
      wording: {},
      // The provider of the failing grants speaks for the outage; most of them, if they differ (provider-facts.ts).
      provider: ctx.providers.among(list.map((g) => g.appId)),
    });
  }
  return { findings };
}
