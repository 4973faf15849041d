import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, buildWorld, connect, startTestSandbox, type TestSandbox, type World } from '../../../../support/sandbox.js';

/**
 * Xero's API limits (xero-protocol.md §5.4): per tenant and app 5 concurrent, 60 a minute and 5,000 a day
 * (1,000 on the Starter tier); 10,000 a minute per app. Over a limit: 429 with `X-Rate-Limit-Problem`, and
 * `Retry-After` (seconds) for the minute and day limits. Windows are fixed and start per tenant.
 */

const ORGANISATION = '/api.xro/2.0/Organisation';

type Res = Awaited<ReturnType<typeof api>>;

function expect429(res: Res, problem: string): void {
  expect(res.status).toBe(429);
  expect(res.headers.get('x-rate-limit-problem')).toBe(problem);
  expect(res.body).toMatchObject({ Type: null, Title: 'Too Many Requests', Status: 429 });
  for (const h of ['x-appminlimit-remaining', 'x-minlimit-remaining', 'x-daylimit-remaining']) {
    expect(res.headers.get(h) ?? '(absent)', h).toMatch(/^\d+$/);
  }
}

function retryAfter(res: Res): number {
  const value = res.headers.get('retry-after');
  expect(value, 'Retry-After').toMatch(/^\d+$/);
  return Number(value);
}

describe('API rate limits', () => {
  let sb: TestSandbox;
  let w: World;
  let token: string;
  beforeEach(async () => {
    sb = await startTestSandbox();
    w = await buildWorld(sb, { orgs: 2 });
    token = (await connect(sb, w)).access_token;
  });
  afterEach(() => sb.close());

  const call = (tenantId = w.tenantIds[0]!, accessToken = token) => api(sb, ORGANISATION, accessToken, tenantId);

  describe('minute limit (60 per tenant)', () => {
    it('allows 60 calls while X-MinLimit-Remaining counts down to 0, then answers 429 minute with Retry-After', async () => {
      for (let i = 1; i <= 60; i++) {
        const res = await call();
        expect(res.status, `call ${i}`).toBe(200);
        expect(res.headers.get('x-minlimit-remaining'), `call ${i}`).toBe(String(60 - i));
        expect(res.headers.get('x-appminlimit-remaining'), `call ${i}`).toBe(String(10_000 - i));
      }
      const over = await call();
      expect429(over, 'minute');
      const wait = retryAfter(over);
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(60);
      expect(over.headers.get('x-minlimit-remaining')).toBe('0');
      expect(over.headers.get('x-daylimit-remaining')).toBe('4940');
    });

    it('counts a fixed window: Retry-After shrinks as time passes, and 60 s later the window is fresh', async () => {
      for (let i = 0; i < 60; i++) await call();
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 30 });
      const still = await call();
      expect429(still, 'minute');
      expect(retryAfter(still)).toBeLessThanOrEqual(30);

      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 30 });
      const fresh = await call();
      expect(fresh.status).toBe(200);
      expect(fresh.headers.get('x-minlimit-remaining')).toBe('59');
    });

    it('keeps a separate window for each tenant', async () => {
      for (let i = 0; i < 60; i++) await call(w.tenantIds[0]);
      expect429(await call(w.tenantIds[0]), 'minute');
      const other = await call(w.tenantIds[1]);
      expect(other.status).toBe(200);
      expect(other.headers.get('x-minlimit-remaining')).toBe('59');
    });

    it('honours a smaller minuteLimit from the settings', async () => {
      await sb.control('PUT', '/sandbox/settings', { minuteLimit: 2 });
      expect((await call()).headers.get('x-minlimit-remaining')).toBe('1');
      expect((await call()).status).toBe(200);
      expect429(await call(), 'minute');
    });
  });

  describe('concurrent limit (5 per tenant)', () => {
    it('refuses exactly the sixth of six simultaneous calls with 429 concurrent and no Retry-After', async () => {
      await sb.control('PUT', '/sandbox/settings', { apiLatencyMs: 300 });
      const results = await Promise.all(Array.from({ length: 6 }, () => call()));
      const refused = results.filter((r) => r.status === 429);
      expect(results.filter((r) => r.status === 200)).toHaveLength(5);
      expect(refused).toHaveLength(1);
      expect429(refused[0]!, 'concurrent');
      expect(refused[0]!.headers.get('retry-after')).toBeNull();
      // Slots are released when calls finish.
      expect((await call()).status).toBe(200);
    });

    it('does not share concurrency between tenants', async () => {
      await sb.control('PUT', '/sandbox/settings', { apiLatencyMs: 300 });
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => call(w.tenantIds[0])),
        call(w.tenantIds[1]),
      ]);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    });
  });

  describe('day limit by tier', () => {
    it('gives a Starter app 1,000 calls a day per tenant', async () => {
      const starter = await buildWorld(sb, { orgs: 1, app: { tier: 'starter' } });
      const t = await connect(sb, starter);
      const res = await call(starter.tenantIds[0], t.access_token);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-daylimit-remaining')).toBe('999');
    });

    it.each(['core', 'plus', 'advanced', 'enterprise'])('gives a %s app 5,000 calls a day per tenant', async (tier) => {
      const tiered = await buildWorld(sb, { orgs: 1, app: { tier } });
      const t = await connect(sb, tiered);
      const res = await call(tiered.tenantIds[0], t.access_token);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-daylimit-remaining')).toBe('4999');
    });

    it('answers 429 day with a Retry-After of up to a day once the allowance is spent, per tenant', async () => {
      await sb.control('PUT', '/sandbox/settings', { dayLimits: { advanced: 3 } });
      for (let i = 1; i <= 3; i++) {
        const res = await call();
        expect(res.status).toBe(200);
        expect(res.headers.get('x-daylimit-remaining')).toBe(String(3 - i));
      }
      const over = await call();
      expect429(over, 'day');
      const wait = retryAfter(over);
      expect(wait).toBeGreaterThan(86_400 - 60);
      expect(wait).toBeLessThanOrEqual(86_400);
      expect(over.headers.get('x-daylimit-remaining')).toBe('0');

      // Another tenant has its own day; so does the same tenant tomorrow.
      expect((await call(w.tenantIds[1])).status).toBe(200);
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 1700 });
      const later = await call();
      expect429(later, 'day');
      expect(retryAfter(later)).toBeLessThanOrEqual(86_400 - 1700);
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 86_400 });
      // The clock moved past the token's 30 minutes, so fetch a new one.
      const fresh = await connect(sb, w);
      const tomorrow = await call(w.tenantIds[0], fresh.access_token);
      expect(tomorrow.status).toBe(200);
      expect(tomorrow.headers.get('x-daylimit-remaining')).toBe('2');
    });

    it('applies the day limit before the minute limit', async () => {
      await sb.control('PUT', '/sandbox/settings', { dayLimits: { advanced: 2 }, minuteLimit: 2 });
      await call();
      await call();
      expect429(await call(), 'day');
    });
  });

  describe('app minute limit (10,000 per app across tenants)', () => {
    it('answers 429 appminute once the app as a whole is over its minute allowance', async () => {
      await sb.control('PUT', '/sandbox/settings', { appMinuteLimit: 3 });
      const a1 = await call(w.tenantIds[0]);
      const a2 = await call(w.tenantIds[0]);
      const b1 = await call(w.tenantIds[1]);
      expect([a1.status, a2.status, b1.status]).toEqual([200, 200, 200]);
      expect([a1, a2, b1].map((r) => r.headers.get('x-appminlimit-remaining'))).toEqual(['2', '1', '0']);
      // Tenant B has made one call, so it is the app's allowance that is spent, not B's minute.
      const b2 = await call(w.tenantIds[1]);
      expect429(b2, 'appminute');
      expect(b2.headers.get('x-minlimit-remaining')).toBe('59');
      expect(b2.headers.get('x-appminlimit-remaining')).toBe('0');
      expect429(await call(w.tenantIds[0]), 'appminute');

      // Another app in the same organisation has its own allowance.
      const other = await buildWorld(sb, { orgs: 1 });
      const t = await connect(sb, other);
      expect((await call(other.tenantIds[0], t.access_token)).status).toBe(200);

      await sb.control('POST', '/sandbox/clock', { advanceSeconds: 60 });
      expect((await call(w.tenantIds[1])).status).toBe(200);
    });
  });
});
