import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { LoopbackPortsBusyError, startLoopbackCallback, type LoopbackCallback, type LoopbackOptions } from '../../../main/oauth/loopback-server.js';
import { freePorts, navigate, occupy, rawRequest } from './support.js';

const STATE = 'state-' + randomBytes(16).toString('base64url');

describe('oauth: loopback callback listener', () => {
  const open: LoopbackCallback[] = [];
  const held: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
    await Promise.all(held.splice(0).map((h) => h.close()));
  });

  async function start(opts: Partial<LoopbackOptions> = {}): Promise<LoopbackCallback> {
    const l = await startLoopbackCallback({ ports: opts.ports ?? (await freePorts(1)), expectedState: STATE, timeoutMs: 10_000, ...opts });
    open.push(l);
    return l;
  }

  const cb = (l: LoopbackCallback, query: Record<string, string>) => `${l.redirectUri}?${new URLSearchParams(query)}`;

  it('binds 127.0.0.1 on the first registered port and uses it in the redirect URI', async () => {
    const ports = await freePorts(2);
    const l = await start({ ports });
    expect(l.port).toBe(ports[0]);
    expect(l.redirectUri).toBe(`http://127.0.0.1:${ports[0]}/callback`);
    const res = await navigate(cb(l, { code: 'c-1', state: STATE }));
    expect(res.status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c-1' });
  });

  it('falls back to the next registered port when the first is busy', async () => {
    const ports = await freePorts(3);
    held.push(await occupy(ports[0]!));
    const l = await start({ ports });
    expect(l.port).toBe(ports[1]);
    expect(l.redirectUri).toBe(`http://127.0.0.1:${ports[1]}/callback`);
  });

  it('fails with an error naming every port when all are busy', async () => {
    const ports = await freePorts(2);
    for (const p of ports) held.push(await occupy(p));
    const err = await startLoopbackCallback({ ports, expectedState: STATE, timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoopbackPortsBusyError);
    expect((err as LoopbackPortsBusyError).ports).toEqual(ports);
    expect((err as Error).message).toBe(
      `The sign-in reply addresses (ports ${ports[0]}, ${ports[1]}) registered for this app are all in use by other programs (or by another sign-in that is still waiting). ` +
        "Close them and try again, or register another port in the provider's developer portal and add the app again with it. (ports-busy)",
    );
    expect((err as LoopbackPortsBusyError).unavailable).toEqual(ports.map((port) => ({ port, code: 'EADDRINUSE' })));
  });

  it('answers a wrong or missing state with a static 400 and keeps waiting for the real callback', async () => {
    const l = await start();
    const wrong = await navigate(cb(l, { code: 'c-x', state: 'forged' }));
    expect(wrong.status).toBe(400);
    const missing = await navigate(cb(l, { code: 'c-x' }));
    expect(missing.status).toBe(400);
    const twoStates = await navigate(`${l.redirectUri}?code=c-x&state=${STATE}&state=${STATE}`);
    expect(twoStates.status).toBe(400);
    const noCode = await navigate(cb(l, { state: STATE }));
    expect(noCode.status).toBe(400);
    const right = await navigate(cb(l, { code: 'c-right', state: STATE, scope: 'openid' }));
    expect(right.status).toBe(200);
    expect(right.body).toContain('You can close this window and return to Relink');
    const r = await l.result;
    expect(r).toMatchObject({ kind: 'code', code: 'c-right' });
    if (r.kind === 'code') expect(r.params.get('scope')).toBe('openid');
  });

  it('consumes the state once: a replayed callback gets "already completed" and no second result', async () => {
    const l = await start();
    let settled = 0;
    void l.result.then(() => settled++);
    expect((await navigate(cb(l, { code: 'first', state: STATE }))).status).toBe(200);
    const replay = await navigate(cb(l, { code: 'second', state: STATE }));
    expect(replay.status).toBe(200);
    expect(replay.body).toContain('already been completed');
    expect(replay.body).toContain('You can close this window and return to Relink');
    const r = await l.result;
    expect(r).toMatchObject({ kind: 'code', code: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(1);
  });

  it('refuses POST (and other methods) on the callback path', async () => {
    const l = await start();
    const post = await rawRequest(cb(l, { code: 'c', state: STATE }), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET');
    const put = await rawRequest(cb(l, { code: 'c', state: STATE }), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect((await navigate(cb(l, { code: 'c', state: STATE }))).status).toBe(200); // still waiting until then
  });

  it('refuses requests addressed to a foreign Host (DNS rebinding), and other paths', async () => {
    const l = await start();
    const rebinding = await rawRequest(cb(l, { code: 'c', state: STATE }), { host: `evil.example:${l.port}` });
    expect(rebinding.status).toBe(421);
    const otherPort = await rawRequest(cb(l, { code: 'c', state: STATE }), { host: `127.0.0.1:${l.port + 1}` });
    expect(otherPort.status).toBe(421);
    const other = await navigate(`http://127.0.0.1:${l.port}/elsewhere?code=c&state=${STATE}`);
    expect(other.status).toBe(404);
    // None of that ended the wait.
    expect((await navigate(cb(l, { code: 'c-real', state: STATE }))).status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c-real' });
  });

  it('accepts a callback whose Host is localhost:PORT', async () => {
    const l = await start();
    const res = await rawRequest(cb(l, { code: 'c-lh', state: STATE }), { host: `localhost:${l.port}`, headers: { 'sec-fetch-mode': 'navigate' } });
    expect(res.status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c-lh' });
  });

  it('refuses anything but a top-level navigation: an Origin header, fetch/no-cors modes, frames', async () => {
    const l = await start();
    const url = cb(l, { code: 'c', state: STATE });
    expect((await navigate(url, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await navigate(url, { origin: 'null' })).status).toBe(403);
    expect((await navigate(url, { 'sec-fetch-mode': 'cors' })).status).toBe(403);
    expect((await navigate(url, { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' })).status).toBe(403);
    expect((await navigate(url, { 'sec-fetch-dest': 'iframe' })).status).toBe(403);
    // The genuine redirect from login.xero.com is a cross-site navigation, and must work.
    const genuine = await navigate(url);
    expect(genuine.status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c' });
  });

  it('reports error=access_denied as denied', async () => {
    const l = await start();
    const res = await navigate(cb(l, { error: 'access_denied', state: STATE }));
    expect(res.status).toBe(200);
    expect(res.body).toContain('You can close this window and return to Relink');
    expect(await l.result).toEqual({ kind: 'denied' });
  });

  it('reports other errors by code only, and only known OAuth codes', async () => {
    const l1 = await start();
    await navigate(cb(l1, { error: 'temporarily_unavailable', state: STATE, error_description: 'x' }));
    expect(await l1.result).toEqual({ kind: 'error', error: 'temporarily_unavailable' });
    const l2 = await start();
    await navigate(cb(l2, { error: '<script>alert(1)</script>', state: STATE }));
    expect(await l2.result).toEqual({ kind: 'error', error: 'unrecognised' });
  });

  it('does not let an error callback with a wrong state end the wait', async () => {
    const l = await start();
    expect((await navigate(cb(l, { error: 'access_denied', state: 'forged' }))).status).toBe(400);
    expect((await navigate(cb(l, { code: 'c-after', state: STATE }))).status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c-after' });
  });

  it('times out, and then stops listening', async () => {
    const l = await start({ timeoutMs: 150 });
    expect(await l.result).toEqual({ kind: 'timeout' });
    await l.close();
    await expect(navigate(cb(l, { code: 'late', state: STATE }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('is cancelled through its AbortSignal, and then stops listening', async () => {
    const ctl = new AbortController();
    const l = await start({ signal: ctl.signal });
    setTimeout(() => ctl.abort(), 30);
    expect(await l.result).toEqual({ kind: 'cancelled' });
    await l.close();
    await expect(navigate(cb(l, { code: 'late', state: STATE }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('is cancelled at once by an already-aborted signal', async () => {
    const l = await start({ signal: AbortSignal.abort() });
    expect(await l.result).toEqual({ kind: 'cancelled' });
  });

  it('close() while waiting settles the result as cancelled; close is idempotent', async () => {
    const l = await start();
    await Promise.all([l.close(), l.close()]);
    expect(await l.result).toEqual({ kind: 'cancelled' });
  });

  it('closes by itself shortly after completing (linger), even if nobody calls close()', async () => {
    const l = await start({ lingerMs: 50 });
    await navigate(cb(l, { code: 'c', state: STATE }));
    await l.result;
    await new Promise((resolve) => setTimeout(resolve, 150));
    await expect(navigate(cb(l, { code: 'again', state: STATE }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('never reflects anything from the request, and sends no-store, a strict CSP and no-referrer', async () => {
    const markers = {
      code: 'CODE' + randomBytes(8).toString('hex'),
      state: 'STATE' + randomBytes(8).toString('hex'),
      desc: 'DESC' + randomBytes(8).toString('hex'),
      extra: 'XTRA' + randomBytes(8).toString('hex'),
    };
    const l = await start();
    const responses = [
      await navigate(cb(l, { code: markers.code, state: markers.state, error_description: markers.desc })), // wrong state
      await navigate(cb(l, { error: markers.extra, state: markers.state, error_description: markers.desc })), // wrong state
      await rawRequest(cb(l, { code: markers.code, state: STATE }), { method: 'POST' }),
      await rawRequest(cb(l, { code: markers.code, state: STATE }), { host: `${markers.extra}.example:${l.port}` }),
      await navigate(cb(l, { code: markers.code, state: STATE }), { origin: `https://${markers.extra}.example` }),
      await navigate(`http://127.0.0.1:${l.port}/${markers.extra}?code=${markers.code}`),
      await navigate(cb(l, { code: markers.code, state: STATE, error_description: markers.desc, session_state: markers.extra })), // completes
      await navigate(cb(l, { code: markers.code, state: STATE, error_description: markers.desc })), // already completed
    ];
    const l2 = await start();
    responses.push(await navigate(cb(l2, { error: 'access_denied', state: STATE, error_description: markers.desc })));
    const l3 = await start();
    responses.push(await navigate(cb(l3, { error: 'server_error', state: STATE, error_description: markers.desc, error_uri: markers.extra })));

    expect(responses.map((r) => r.status)).toEqual([400, 400, 405, 421, 403, 404, 200, 200, 200, 200]);
    for (const r of responses) {
      for (const m of [...Object.values(markers), STATE]) {
        expect(r.body).not.toContain(m);
        expect(JSON.stringify(r.headers)).not.toContain(m);
      }
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['content-security-policy']).toMatch(/^default-src 'none';/);
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['content-security-policy']).not.toContain('unsafe');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(responses[6]!.body).toContain('You can close this window and return to Relink');
  });

  const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.internal));

  it.runIf(hasIpv6Loopback)('with redirectHost localhost, also answers a browser that resolves localhost to ::1', async () => {
    const l = await start({ redirectHost: 'localhost' });
    expect(l.redirectUri).toBe(`http://localhost:${l.port}/callback`);
    const res = await rawRequest(cb(l, { code: 'c-v6', state: STATE }), { connectHost: '::1', headers: { 'sec-fetch-mode': 'navigate' } });
    expect(res.status).toBe(200);
    expect(await l.result).toMatchObject({ kind: 'code', code: 'c-v6' });
  });

  it.runIf(hasIpv6Loopback)('with redirectHost localhost, skips a port whose ::1 side belongs to someone else', async () => {
    const ports = await freePorts(2);
    held.push(await occupy(ports[0]!, '::1'));
    const l = await start({ ports, redirectHost: 'localhost' });
    expect(l.port).toBe(ports[1]);
  });
});
