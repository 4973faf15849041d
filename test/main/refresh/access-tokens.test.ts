import { describe, expect, it } from 'vitest';
import { AccessTokenCache, MAX_REFRESH_MARGIN_MS, refreshMargin } from '../../../main/refresh/access-tokens.js';
import { ManualClock } from '../../support/manual-clock.js';

const SEC = 1000;
const MIN = 60 * SEC;

describe('AccessTokenCache: one rule for "due for refresh"', () => {
  it('the margin is five minutes for Xero’s 30-minute tokens and a sixth of the lifetime for short ones', () => {
    expect(refreshMargin(30 * MIN)).toBe(5 * MIN);
    expect(refreshMargin(2 * 60 * MIN)).toBe(MAX_REFRESH_MARGIN_MS); // never more than five minutes
    expect(refreshMargin(60 * SEC)).toBe(10 * SEC);
    expect(refreshMargin(0)).toBe(0);
    expect(refreshMargin(-5 * SEC)).toBe(0);
  });

  for (const lifetime of [30 * MIN, 3 * MIN, 60 * SEC, 40 * SEC, 1 * SEC]) {
    it(`a ${lifetime / SEC}-second token is handed out exactly until it is due, and due before it expires`, () => {
      const clock = new ManualClock();
      const cache = new AccessTokenCache(clock);
      const t0 = clock.now();
      cache.set('g', 'tok', t0 + lifetime);
      const due = cache.refreshDueAt('g')!;
      expect(due).toBe(t0 + lifetime - refreshMargin(lifetime));
      // Due strictly after it arrived (a refresh can never make itself due again) and before it expires.
      expect(due).toBeGreaterThan(t0);
      expect(due).toBeLessThan(t0 + lifetime);
      expect(cache.expiresAt('g')).toBe(t0 + lifetime);
      clock.advance(due - t0 - 1);
      expect(cache.get('g')).toBe('tok');
      clock.advance(1);
      // The instant the deadline says "due", the cache stops handing the token out: the engine refreshes.
      expect(cache.get('g')).toBeUndefined();
      expect(cache.refreshDueAt('g')).toBe(due);
    });
  }

  it('knows nothing about a grant without a token, or after delete/clear', () => {
    const clock = new ManualClock();
    const cache = new AccessTokenCache(clock);
    expect(cache.get('g')).toBeUndefined();
    expect(cache.refreshDueAt('g')).toBeUndefined();
    cache.set('g', 'tok', clock.now() + MIN);
    cache.set('h', 'tok2', clock.now() + MIN);
    cache.delete('g');
    expect(cache.refreshDueAt('g')).toBeUndefined();
    expect(cache.get('h')).toBe('tok2');
    cache.clear();
    expect(cache.get('h')).toBeUndefined();
  });
});
