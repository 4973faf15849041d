import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

export const KEYCHAIN_KEY = 'keychain-unavailable';

/**
 * The keychain: without it nothing can be verified, and that is a state, not "no connections". When it
 * fires, every grant's verdict is "unverified" under this finding (`locked`), whatever the other rules find.
 */
export function keychainRule(ctx: HealthContext): { findings: Draft[]; locked: boolean } {
  const { keychain, connections } = ctx.input;
  if (keychain === 'available') return { findings: [], locked: false };
  const finding: Draft = {
    facts: {
      key: KEYCHAIN_KEY,
      cause: 'keychain-unavailable',
      confidence: 'confirmed',
      staffId: null,
      appId: null,
      tenantIds: [...new Set(Object.values(connections).map((c) => c.tenantId))],
      connectionIds: Object.keys(connections),
      evidence: [`The keychain is ${keychain}: a test entry could not be written and read back.`],
    },
    wording: {},
    // Its words name no provider; any will do.
    provider: ctx.providers.ofApp(null),
  };
  return { findings: [finding], locked: true };
}
