import type { Confidence } from '../../shared/domain.js';
import { fixFor, summaryFor, type Wording } from './fixes.js';
import type { ProviderFacts } from './provider-facts.js';
import type { Finding } from './types.js';

/** What a rule found, before it is worded: the facts, and the names and provider its summary and fix read. */
export interface Draft {
  facts: Omit<Finding, 'summary' | 'fix'>;
  wording: Wording;
  provider: ProviderFacts;
}

/** What most rules return: their findings, and which grants' verdicts they explain (grant id → finding key). */
export interface RuleResult {
  findings: Draft[];
  explains?: ReadonlyMap<string, string>;
}

const CONFIDENCE_RANK: Record<Confidence, number> = { confirmed: 0, likely: 1, possible: 2 };

/**
 * The rules' drafts as findings, in the order the rules found them. One event, one finding: two rules
 * reaching the same key (a person marked leaving whose grants are refused *and* whose organisations vanish)
 * add their evidence to one finding instead of opening two incidents. The merged finding keeps the first
 * fix, takes the surest confidence, and is summarised again from the later wording with the merged count.
 */
export function combineFindings(drafts: readonly Draft[]): Finding[] {
  const findings: Finding[] = [];
  const at = new Map<string, number>();
  for (const { facts: f, wording: w, provider } of drafts) {
    const i = at.get(f.key);
    if (i === undefined) {
      at.set(f.key, findings.length);
      findings.push({ ...f, tenantIds: [...f.tenantIds], connectionIds: [...f.connectionIds], evidence: [...f.evidence], summary: summaryFor(f.cause, w, provider), fix: fixFor(f.cause, w, provider) });
      continue;
    }
    const same = findings[i]!;
    const tenantIds = [...new Set([...same.tenantIds, ...f.tenantIds])];
    findings[i] = {
      ...same,
      tenantIds,
      connectionIds: [...new Set([...same.connectionIds, ...f.connectionIds])],
      evidence: [...same.evidence, ...f.evidence],
      appId: same.appId === f.appId ? same.appId : null,
      confidence: CONFIDENCE_RANK[f.confidence] < CONFIDENCE_RANK[same.confidence] ? f.confidence : same.confidence,
      summary: summaryFor(same.cause, { ...w, orgCount: tenantIds.length }, provider),
    };
  }
  return findings;
}
