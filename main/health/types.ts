import type { App, Cause, Confidence, Connection, Fix, Grant, Health, Organisation, Settings, StaffMember } from '../../shared/domain.js';
import type { KeychainState } from '../secrets/keychain.js';

/**
 * What the assessment reads and what it reports (re-exported by assess.ts, which callers import). Here so the
 * rule modules can name them without importing the module that runs them.
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
  /** Latest estimate of (the provider's clock − ours), from a response's Date header. */
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
