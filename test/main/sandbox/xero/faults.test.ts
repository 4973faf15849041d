import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizeUrl, buildWorld, connect, pkcePair, refresh, startTestSandbox, type TestSandbox, type World } from '../../../support/sandbox.js';

/**
 * Fault injection (POST /sandbox/faults {target, kind, count?, retryAfter?}): what each fault looks like on
 * the wire for each target — Xero's outage answers, a proxy's HTML page, a 429, a connection that never
 * answers or is cut — and that a fault fires for exactly `count` requests to its own target only.
 */

const TARGETS = ['token', 'api', 'connections', 'authorize'] as const;
type Target = (typeof TARGETS)[number];

const MAINTENANCE = 'The Xero API is currently offline for maintenance';
const HANG_SECONDS = 0.3;

describe('faults', () => {
  let sb: TestSandbox;
  let w: World;
  let accessToken: string;
  let refreshToken: string;
  beforeEach(async () => {
    sb = await startTestSandbox();
    w = await buildWorld(sb, { orgs: 1 });
    const t = await connect(sb, w);
    accessToken = t.access_token;
    refreshToken = t.refresh_token;
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: HANG_SECONDS });
  });
  afterEach(() => sb.close());

  const addFault = (fault: Record<string, unknown>) => sb.control('POST', '/sandbox/faults', fault, 201);

  /** One request to a target, as a client would make it. Rejects if no response arrives. */
  function send(target: Target, signal: AbortSignal = AbortSignal.timeout(5000)): Promise<Response> {
    switch (target) {
      case 'token':
        return fetch(`${sb.origin}/connect/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: w.clientId }),
          signal,
        });
      case 'api':
        return fetch(`${sb.origin}/api.xro/2.0/Organisation`, {
          headers: { authorization: `Bearer ${accessToken}`, 'xero-tenant-id': w.tenantIds[0]! },
          signal,
        });
      case 'connections':
        return fetch(`${sb.origin}/connections`, { headers: { authorization: `Bearer ${accessToken}` }, signal });
      case 'authorize':
        return fetch(authorizeUrl(sb.origin, { clientId: w.clientId, challenge: pkcePair().challenge }), { redirect: 'manual', signal });
    }
  }

  /** A normal answer from the target: 200 (the authorize request shows its login page). */
  async function expectNormal(target: Target): Promise<void> {
    const res = await send(target);
    const body = await res.text();
    expect(res.status, `${target}: ${body.slice(0, 200)}`).toBe(200);
    if (target === 'token') refreshToken = JSON.parse(body).refresh_token;
  }

  /** The request gets no response at all; resolves with how long it took to fail and why. */
  async function expectNoResponse(target: Target, signal?: AbortSignal): Promise<{ ms: number; error: Error }> {
    const started = performance.now();
    const error = await send(target, signal).then(
      async (res) => {
        throw new Error(`expected no response from ${target}, got ${res.status}: ${(await res.text()).slice(0, 200)}`);
      },
      (err: unknown) => err as Error,
    );
    return { ms: performance.now() - started, error };
  }

  describe.each(TARGETS)('on the %s target', (target) => {
    it('status-500 answers 500, once', async () => {
      await addFault({ target, kind: 'status-500' });
      const res = await send(target);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ Title: 'An error occurred', Status: 500 });
      await expectNormal(target);
    });

    it(`status-503 answers 503 "${MAINTENANCE}" as plain text, with Retry-After when one is given`, async () => {
      await addFault({ target, kind: 'status-503', retryAfter: 120 });
      await addFault({ target, kind: 'status-503' });
      const first = await send(target);
      expect(first.status).toBe(503);
      expect(first.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await first.text()).toBe(MAINTENANCE);
      expect(first.headers.get('retry-after')).toBe('120');
      const second = await send(target);
      expect(second.status).toBe(503);
      expect(await second.text()).toBe(MAINTENANCE);
      expect(second.headers.get('retry-after')).toBeNull();
      await expectNormal(target);
    });

    it('html-502 answers a proxy’s 502 HTML page', async () => {
      await addFault({ target, kind: 'html-502' });
      const res = await send(target);
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<title>502 Bad Gateway</title>');
      await expectNormal(target);
    });

    it('timeout never answers: the socket is held for hangSeconds and closed without a response', async () => {
      await addFault({ target, kind: 'timeout' });
      const { ms, error } = await expectNoResponse(target);
      expect(error.name).not.toBe('TimeoutError');
      expect(ms).toBeGreaterThanOrEqual(HANG_SECONDS * 1000 - 50);
      await expectNormal(target);
    });

    it('timeout makes a client’s own deadline fire first when hangSeconds is longer', async () => {
      await sb.control('PUT', '/sandbox/settings', { hangSeconds: 30 });
      await addFault({ target, kind: 'timeout' });
      const { error } = await expectNoResponse(target, AbortSignal.timeout(300));
      expect(error.name).toBe('TimeoutError');
      await expectNormal(target);
    });

    it('drop-response never answers', async () => {
      await addFault({ target, kind: 'drop-response' });
      const { ms } = await expectNoResponse(target);
      expect(ms).toBeGreaterThanOrEqual(HANG_SECONDS * 1000 - 50);
      await expectNormal(target);
    });

    it('reset cuts the connection at once', async () => {
      await sb.control('PUT', '/sandbox/settings', { hangSeconds: 30 });
      await addFault({ target, kind: 'reset' });
      const { error } = await expectNoResponse(target, AbortSignal.timeout(3000));
      // The server hung up; the client did not give up waiting.
      expect(error.name).not.toBe('TimeoutError');
      expect(error.name).not.toBe('AbortError');
      await expectNormal(target);
    });

    it('rate-limit answers 429 with X-Rate-Limit-Problem and Retry-After equal to retryAfter', async () => {
      await addFault({ target, kind: 'rate-limit', retryAfter: 17 });
      const res = await send(target);
      expect(res.status).toBe(429);
      expect(res.headers.get('x-rate-limit-problem')).toBe('minute');
      expect(res.headers.get('retry-after')).toBe('17');
      await expectNormal(target);
    });

    it('count: 2 affects exactly the next two requests', async () => {
      await addFault({ target, kind: 'status-500', count: 2 });
      expect((await send(target)).status).toBe(500);
      expect((await sb.control('GET', '/sandbox/faults')).faults).toEqual([
        { target, kind: 'status-500', remaining: 1 },
      ]);
      expect((await send(target)).status).toBe(500);
      await expectNormal(target);
      expect((await sb.control('GET', '/sandbox/faults')).faults).toEqual([]);
    });

    it('leaves every other target alone', async () => {
      await addFault({ target, kind: 'status-500', count: 3 });
      for (const other of TARGETS.filter((t) => t !== target)) await expectNormal(other);
      expect((await send(target)).status).toBe(500);
    });

    it('stops when the faults are cleared with DELETE', async () => {
      await addFault({ target, kind: 'status-503', count: 100 });
      expect((await send(target)).status).toBe(503);
      expect(await sb.control('DELETE', '/sandbox/faults')).toEqual({ cleared: 1 });
      await expectNormal(target);
    });
  });

  it('fires faults on one target in the order they were added', async () => {
    await addFault({ target: 'api', kind: 'status-500' });
    await addFault({ target: 'api', kind: 'html-502' });
    await addFault({ target: 'api', kind: 'rate-limit' });
    expect((await send('api')).status).toBe(500);
    expect((await send('api')).status).toBe(502);
    const limited = await send('api');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    await expectNormal('api');
  });

  it('rate-limit can name the limit: day (with Retry-After) or concurrent (without)', async () => {
    await addFault({ target: 'api', kind: 'rate-limit', problem: 'day', retryAfter: 66_975 });
    await addFault({ target: 'api', kind: 'rate-limit', problem: 'concurrent' });
    const day = await send('api');
    expect(day.status).toBe(429);
    expect(day.headers.get('x-rate-limit-problem')).toBe('day');
    expect(day.headers.get('retry-after')).toBe('66975');
    const concurrent = await send('api');
    expect(concurrent.headers.get('x-rate-limit-problem')).toBe('concurrent');
    expect(concurrent.headers.get('retry-after')).toBeNull();
    await expectNormal('api');
  });

  describe('what a lost token response did to the refresh token', () => {
    const GRACE = 1800;

    it('timeout: the refresh never happened, so the old token still works after the grace window', async () => {
      await addFault({ target: 'token', kind: 'timeout' });
      await expectNoResponse('token');
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: GRACE + 1 });
      const r = await refresh(sb, w, refreshToken);
      expect(r.status).toBe(200);
      expect(r.body.refresh_token).not.toBe(refreshToken);
    });

    it('reset: the refresh never happened either', async () => {
      await addFault({ target: 'token', kind: 'reset' });
      await expectNoResponse('token');
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: GRACE + 1 });
      expect((await refresh(sb, w, refreshToken)).status).toBe(200);
    });

    it('drop-response: the rotation happened, so the old token works only as a grace-period reuse', async () => {
      await addFault({ target: 'token', kind: 'drop-response' });
      await expectNoResponse('token');
      // Within the grace window the client can retry with the token it still holds…
      const retry = await refresh(sb, w, refreshToken);
      expect(retry.status).toBe(200);
      expect(retry.body.refresh_token).not.toBe(refreshToken);
      // …and past it the old token is dead: proof it had been rotated by the lost request.
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: GRACE + 1 });
      expect(await refresh(sb, w, refreshToken)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      // The chain the retry started lives on.
      expect((await refresh(sb, w, retry.body.refresh_token)).status).toBe(200);
    });

    it('drop-response without a retry: past the grace window the old token is already invalid_grant', async () => {
      await addFault({ target: 'token', kind: 'drop-response' });
      await expectNoResponse('token');
      await sb.control('POST', '/sandbox/clock', { advanceSeconds: GRACE + 1 });
      expect(await refresh(sb, w, refreshToken)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });
  });
});
