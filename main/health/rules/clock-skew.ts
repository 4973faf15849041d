import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

const SKEW_THRESHOLD_MS = 5 * 60_000;

/** The clock: providers reject tokens and signatures when this computer's time is far off. */
export function clockSkewRule(ctx: HealthContext): { findings: Draft[] } {
  const skew = ctx.input.clockSkewMs;
  if (skew === null || Math.abs(skew) < SKEW_THRESHOLD_MS) return { findings: [] };
  const minutes = Math.round(Math.abs(skew) / 60_000);
  // The skew is read from the answers of the firm's providers; the one most of its apps use speaks for it.
  const provider = ctx.providers.among(Object.keys(ctx.input.apps));
  return {
    findings: [
      {
        facts: {
          key: 'clock-skew',
          cause: 'clock-skew',
          confidence: 'likely',
          staffId: null,
          appId: null,
          tenantIds: [],
          connectionIds: [],
          evidence: [`${provider.terms.name}'s clock reads ${minutes} minutes ${skew > 0 ? 'ahead of' : 'behind'} this computer's (from its Date header).`],
        },
        wording: { minutes },
        provider,
      },
    ],
  };
}
