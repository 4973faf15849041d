import type { Failure } from '../../shared/domain.js';

/**
 * When to try again after a transient failure (security-anchors §3 H7: network errors, timeouts, 5xx and
 * non-JSON bodies are retryable and never mark a grant broken).
 *
 * Exponential backoff with AWS "full jitter": a uniform draw between the floor and
 * min(max, base·2^attempt). Full jitter matters here because a firm's grants fail *together* (Wi-Fi drops,
 * Xero has an outage): without it, hundreds of grants would retry in lock-step and hit the rate limits
 * together when the network comes back.
 */
export interface BackoffOptions {
  /** The cap for the first retry (attempt 0). Default 30 s. */
  baseMs?: number;
  /** The cap never grows past this. Default 6 h (well inside the 30-minute-access/60-day-refresh picture). */
  maxMs?: number;
  /** Never retry sooner than this, whatever the dice say. Default 1 s. */
  floorMs?: number;
  /** Uniform in [0, 1). Injected for deterministic tests. */
  random?: () => number;
}

export interface RetryDelayOptions extends BackoffOptions {
  /**
   * Which rate limit was hit, as Xero's `X-Rate-Limit-Problem` header said (`minute`, `day`, …), when the
   * caller knows it. Without it, a rate-limited failure whose detail mentions the day limit counts as one.
   */
  limit?: string;
  /** Longest day-limit wait honoured. Default 25 h: a daily window never needs longer (guards a garbage date). */
  maxDayLimitMs?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 30_000;
export const DEFAULT_BACKOFF_MAX_MS = 6 * 60 * 60 * 1000;
export const BACKOFF_FLOOR_MS = 1000;
const DEFAULT_MAX_DAY_LIMIT_MS = 25 * 60 * 60 * 1000;

/**
 * The delay before retry number `attempt` (0 for the first retry). Uniform in [floor, cap] where
 * cap = max(floor, min(maxMs, baseMs·2^attempt)). The floor shifts the draw rather than clamping it, so no
 * probability piles up at exactly 1 s.
 */
export function nextBackoffMs(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = DEFAULT_BACKOFF_BASE_MS, maxMs = DEFAULT_BACKOFF_MAX_MS, floorMs = BACKOFF_FLOOR_MS, random = Math.random } = options;
  const cap = backoffCapMs(attempt, { baseMs, maxMs, floorMs });
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(floorMs + r * (cap - floorMs));
}

/** The upper bound of `nextBackoffMs` for this attempt. */
export function backoffCapMs(attempt: number, options: Pick<BackoffOptions, 'baseMs' | 'maxMs' | 'floorMs'> = {}): number {
  const { baseMs = DEFAULT_BACKOFF_BASE_MS, maxMs = DEFAULT_BACKOFF_MAX_MS, floorMs = BACKOFF_FLOOR_MS } = options;
  // Clamp the exponent: 2^1024 is Infinity, and a negative or NaN attempt means "first retry".
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.min(Math.floor(attempt), 60) : 0;
  return Math.max(floorMs, Math.min(maxMs, baseMs * 2 ** n));
}

/**
 * Milliseconds from `now` until the next attempt after `failure`, the `attempt`-th retry in a row.
 *
 * A server's `Retry-After` (already resolved by the caller to the absolute `failure.retryAt`, computed from the
 * response's `Date` header — H5) wins when it is later than our own backoff: retrying earlier is pointless
 * and burns the limit. It is capped at `maxMs` (a minute limit, a 503, or a proxy that invented a
 * far-future date must not park a grant for days) — except for Xero's *day* limit, whose Retry-After is
 * legitimately hours (up to the end of the tenant's daily window) and is honoured up to `maxDayLimitMs`.
 */
export function delayFor(failure: Failure, attempt: number, now: number, options: RetryDelayOptions = {}): number {
  const backoff = nextBackoffMs(attempt, options);
  const retryAt = failure.retryAt === undefined ? NaN : Date.parse(failure.retryAt);
  if (!Number.isFinite(retryAt)) return backoff;
  const serverDelay = retryAt - now;
  if (serverDelay <= backoff) return backoff;
  const cap = isDayLimit(failure, options.limit)
    ? (options.maxDayLimitMs ?? DEFAULT_MAX_DAY_LIMIT_MS)
    : (options.maxMs ?? DEFAULT_BACKOFF_MAX_MS);
  return Math.max(backoff, Math.min(serverDelay, cap));
}

/** Xero says `X-Rate-Limit-Problem: day` (old docs: `Daily`); the classifier may only have kept it in `detail`. */
function isDayLimit(failure: Failure, limit: string | undefined): boolean {
  if (limit !== undefined) return /^(day|daily)$/i.test(limit.trim());
  return failure.kind === 'rate-limited' && /\b(day|daily)\b/i.test(failure.detail);
}
