import { providerOf } from '../providers/registry.js';
import { healthContext } from './context.js';
import { combineFindings } from './findings.js';
import type { ProviderLookup } from './provider-facts.js';
import { apiRefusalsRule } from './rules/api-refusals.js';
import { clockSkewRule } from './rules/clock-skew.js';
import { disconnectedInOrgRule } from './rules/disconnected-in-org.js';
import { idleGrantsRule } from './rules/idle-grants.js';
import { keyMissingRule } from './rules/key-missing.js';
import { KEYCHAIN_KEY, keychainRule } from './rules/keychain.js';
import { outagesRule } from './rules/outages.js';
import { refusedGrantsRule } from './rules/refused-grants.js';
import { rejectedAppsRule } from './rules/rejected-apps.js';
import { removedAccessRule } from './rules/removed-access.js';
import { replacedConnectionsRule } from './rules/replaced-connections.js';
import type { HealthInput, HealthReport } from './types.js';
import { verdicts } from './verdicts.js';

export type { Finding, GrantVerdict, HealthInput, HealthReport, Verdict } from './types.js';

/**
 * Health and causes (DESIGN.md §4), computed from evidence across grants, staff, apps and organisations.
 * A pure function of the stored facts and the time: the engine records what happened (refresh outcomes,
 * organisation listings, API failures); this decides what it means. Being pure and deterministic is what keeps
 * incidents from flapping: the same facts always give the same findings.
 *
 * Each rule (rules/*.ts) reads the facts and returns its findings and what it claims: the grants whose
 * verdict it explains, or the missing connections it accounts for, which the later missing-organisation rules
 * leave alone. The order below is the order findings are reported in, and two rules reaching one key merge
 * (findings.ts). What a rule says of a provider, and decides from its rules, comes from `providers`
 * (the registry's unless a caller injects another).
 */
export function assessHealth(input: HealthInput, providers: ProviderLookup = providerOf): HealthReport {
  const ctx = healthContext(input, providers);
  const keychain = keychainRule(ctx);
  const keyMissing = keyMissingRule(ctx);
  const refused = refusedGrantsRule(ctx);
  const idle = idleGrantsRule(ctx);
  const rejected = rejectedAppsRule(ctx);
  const replaced = replacedConnectionsRule(ctx);
  const removed = removedAccessRule(ctx, replaced.superseded);
  const disconnected = disconnectedInOrgRule(ctx, new Set([...replaced.superseded, ...removed.claimed]));
  const findings = combineFindings([
    ...keychain.findings,
    ...keyMissing.findings,
    ...refused.findings,
    ...idle.findings,
    ...rejected.findings,
    ...replaced.findings,
    ...removed.findings,
    ...disconnected.findings,
    ...apiRefusalsRule(ctx).findings,
    ...clockSkewRule(ctx).findings,
    ...outagesRule(ctx).findings,
  ]);
  const { grants, connections } = verdicts(ctx, {
    findings,
    locked: keychain.locked ? findings.find((f) => f.key === KEYCHAIN_KEY) : undefined,
    // The rules that judge a grant itself come before a key gone missing from under it.
    explains: [refused.explains, idle.explains, rejected.explains, keyMissing.explains].filter((m) => m !== undefined),
    superseded: replaced.superseded,
  });
  return { grants, connections, findings, superseded: [...replaced.superseded] };
}
