import { describe, expect, it } from 'vitest';
import { backoffCapMs, delayFor, nextBackoffMs } from '../../../main/refresh/backoff.js';
import type { Failure } from '../../../shared/domain.js';
import { mulberry32 } from './support/prng.js';

/** Retry timing after transient failures: full jitter with a floor, and the server's Retry-After. */

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2025, 2, 3, 9, 0, 0);

function failure(over: Partial<Failure> = {}): Failure {
  return { kind: 'server-error', at: new Date(NOW).toISOString(), detail: '503 Service Unavailable', ...over };
}
const iso = (ms: number) => new Date(ms).toISOString();

describe('nextBackoffMs', () => {
  it('stays within [1 s, min(6 h, 30 s·2^attempt)] and averages the middle of that range (full jitter)', () => {
    const random = mulberry32(42);
    for (let attempt = 0; attempt <= 14; attempt++) {
      const cap = Math.min(6 * HOUR, 30 * SEC * 2 ** attempt);
      const samples = Array.from({ length: 4000 }, () => nextBackoffMs(attempt, { random }));
      const min = Math.min(...samples);
      const max = Math.max(...samples);
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      expect(min).toBeGreaterThanOrEqual(SEC);
      expect(max).toBeLessThanOrEqual(cap);
      const expected = (SEC + cap) / 2;
      expect(Math.abs(mean - expected) / expected).toBeLessThan(0.03);
      // The floor shifts the draw instead of clamping it: no pile-up of retries at exactly 1 s.
      expect(samples.filter((v) => v === SEC).length).toBeLessThan(samples.length * 0.005);
      // Really spread out over the range, not clustered at one end.
      expect(min).toBeLessThan(SEC + 0.02 * (cap - SEC));
      expect(max).toBeGreaterThan(cap - 0.02 * (cap - SEC));
    }
  });

  it('doubles its ceiling per attempt until it reaches maxMs, and never overflows', () => {
    const top = () => 0.999_999_999;
    expect([0, 1, 2, 3, 4].map((a) => nextBackoffMs(a, { random: top }))).toEqual([30 * SEC, 60 * SEC, 120 * SEC, 240 * SEC, 480 * SEC]);
    expect(nextBackoffMs(20, { random: top })).toBe(6 * HOUR);
    expect(nextBackoffMs(10_000, { random: top })).toBe(6 * HOUR);
    expect(backoffCapMs(Number.MAX_SAFE_INTEGER)).toBe(6 * HOUR);
    // Nonsense attempts count as the first retry.
    expect(backoffCapMs(-3)).toBe(30 * SEC);
    expect(backoffCapMs(NaN)).toBe(30 * SEC);
  });

  it('never retries in under a second, even with a tiny base or an unlucky draw', () => {
    expect(nextBackoffMs(0, { random: () => 0 })).toBe(SEC);
    expect(nextBackoffMs(0, { random: () => 0.5 })).toBe((SEC + 30 * SEC) / 2);
    const random = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const v = nextBackoffMs(i % 5, { baseMs: 10, random });
      expect(v).toBe(SEC); // cap = max(floor, 10·2^n) = 1 s for these attempts
    }
  });

  it('honours custom base and max', () => {
    const top = () => 0.999_999_999;
    expect(nextBackoffMs(3, { baseMs: 2 * SEC, maxMs: 10 * SEC, random: top })).toBe(10 * SEC);
    expect(nextBackoffMs(1, { baseMs: 2 * SEC, maxMs: 10 * SEC, random: top })).toBe(4 * SEC);
  });
});

describe('delayFor', () => {
  const half = { random: () => 0.5 };

  it('uses the backoff when there is no Retry-After, or when it is earlier than the backoff', () => {
    expect(delayFor(failure(), 0, NOW, half)).toBe(nextBackoffMs(0, half));
    expect(delayFor(failure({ retryAt: iso(NOW + 2 * SEC) }), 0, NOW, half)).toBe(nextBackoffMs(0, half));
    // A Retry-After already in the past means nothing.
    expect(delayFor(failure({ retryAt: iso(NOW - HOUR) }), 3, NOW, half)).toBe(nextBackoffMs(3, half));
  });

  it('waits for a Retry-After that is later than the backoff', () => {
    const f = failure({ kind: 'rate-limited', httpStatus: 429, detail: '429 minute limit', retryAt: iso(NOW + 50 * SEC) });
    expect(delayFor(f, 0, NOW, half)).toBe(50 * SEC);
    const outage = failure({ httpStatus: 503, retryAt: iso(NOW + 20 * MIN) });
    expect(delayFor(outage, 0, NOW, half)).toBe(20 * MIN);
  });

  it('caps a non-day Retry-After at maxMs', () => {
    const minute = failure({ kind: 'rate-limited', httpStatus: 429, detail: '429 minute limit', retryAt: iso(NOW + 10 * HOUR) });
    expect(delayFor(minute, 0, NOW, half)).toBe(6 * HOUR);
    expect(delayFor(minute, 0, NOW, { ...half, maxMs: 1 * HOUR })).toBe(1 * HOUR);
    // An explicit minute limit is capped even if the detail happens to mention a day.
    const odd = failure({ kind: 'rate-limited', detail: 'try again in a day', retryAt: iso(NOW + 10 * HOUR) });
    expect(delayFor(odd, 0, NOW, { ...half, limit: 'minute' })).toBe(6 * HOUR);
  });

  it('respects a day-limit Retry-After even when it is many hours away', () => {
    // Codat's support article shows `retry-after: 66975` (18.6 h) for Xero's day limit.
    const retryAt = NOW + 66_975 * SEC;
    const byDetail = failure({ kind: 'rate-limited', httpStatus: 429, detail: '429 X-Rate-Limit-Problem: day', retryAt: iso(retryAt) });
    expect(delayFor(byDetail, 0, NOW, half)).toBe(66_975 * SEC);
    const byHeader = failure({ kind: 'rate-limited', httpStatus: 429, detail: '429 Too Many Requests', retryAt: iso(retryAt) });
    expect(delayFor(byHeader, 0, NOW, { ...half, limit: 'day' })).toBe(66_975 * SEC);
    expect(delayFor(byHeader, 0, NOW, { ...half, limit: 'Daily' })).toBe(66_975 * SEC);
    // Without knowing it is the day limit, the same header is capped.
    expect(delayFor(byHeader, 0, NOW, half)).toBe(6 * HOUR);
  });

  it('does not let a garbage day-limit date park a grant for weeks', () => {
    const f = failure({ kind: 'rate-limited', detail: '429 daily limit', retryAt: iso(NOW + 30 * 24 * HOUR) });
    expect(delayFor(f, 0, NOW, half)).toBe(25 * HOUR);
  });

  it('never returns less than the backoff floor', () => {
    const random = mulberry32(3);
    for (let i = 0; i < 500; i++) {
      const f = failure({ retryAt: iso(NOW + Math.floor(random() * 2000)) });
      expect(delayFor(f, 0, NOW, { random })).toBeGreaterThanOrEqual(SEC);
    }
  });
});
