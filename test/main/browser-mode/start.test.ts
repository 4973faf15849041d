import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { main, USAGE } from '../../../main/browser-mode/start.js';
import type { Io } from '../../../main/app/process-io.js';
import { childEnv, hasSecretService, ROOT } from '../../support/relink-cli.js';

/**
 * `npm run start:browser` as a person or the end-to-end tests meet it: a real process (`node --import tsx
 * main/browser-mode/start.ts`, so signals reach Relink itself) on its own data folder and keychain service
 * name. Without a Secret Service (no D-Bus here unless run through .ci/with-keyring.sh) the window must still
 * come up and say the keychain is unavailable.
 */

const RENDERER_BUILT = fs.existsSync(path.join(ROOT, 'dist/renderer/index.html'));
const NEEDS_BUILD = RENDERER_BUILT ? '' : ' [SKIPPED: dist/renderer is not built — run npm run build:renderer first (npm test does)]';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(async () => {
  for (const child of running) child.kill('SIGKILL');
  await Promise.all([...running].map((c) => new Promise((r) => c.once('exit', r))));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function startBrowserMode(args: string[]): Run {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-browser-'));
  dirs.push(dataDir);
  const service = `relink-test-browser-${process.pid}-${randomBytes(4).toString('hex')}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'main/browser-mode/start.ts', '--no-open', '--data-dir', dataDir, '--keychain-service', service, ...args],
    { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(run: Run, pattern: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(run.stdout());
    if (m) return m;
    if (run.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${pattern}; exit ${run.child.exitCode}; stdout: ${run.stdout()}; stderr: ${run.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function call(url: URL, key: string, channel: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url.host}/api`, { origin: url.origin });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', key }));
      ws.send(JSON.stringify({ type: 'request', id: 1, channel, args: {} }));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type !== 'response') return;
      ws.close();
      resolve(m.result);
    });
  });
}

const URL_LINE = /^Relink is running at (http:\/\/127\.0\.0\.1:(\d+)\/#key=([A-Za-z0-9_-]{43})) \(press Ctrl\+C to stop\)\n/m;

describe('npm run start:browser', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it.skipIf(!RENDERER_BUILT)(`prints the address, serves the window and the API, and stops cleanly on ${signal}${NEEDS_BUILD}`, async () => {
      const run = startBrowserMode(['--port', '0']);
      const [, address, port, key] = await waitFor(run, URL_LINE);
      const url = new URL(address!);
      const page = await fetch(`${url.origin}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<div id="root">');
      expect(html).toContain(`connect-src ws://127.0.0.1:${port}`);
      expect(page.headers.get('content-security-policy')).toContain(`connect-src ws://127.0.0.1:${port}`);

      const session = await call(url, key!, 'session.get');
      expect(session.ok, JSON.stringify(session)).toBe(true);
      expect(session.value).toMatchObject({ host: 'browser', demo: false });
      const status = await call(url, key!, 'status.get');
      expect(status.ok, JSON.stringify(status)).toBe(true);
      // The window comes up either way, and says where the keychain stands.
      expect(status.value.keychain).toBe(hasSecretService ? 'available' : 'unavailable');

      run.child.kill(signal);
      const exit = await run.exited;
      expect({ ...exit, stderr: run.stderr() }).toMatchObject({ code: 0, signal: null });
      expect(run.stderr()).not.toContain(key!);
      expect(run.stdout().match(new RegExp(key!, 'g'))).toHaveLength(1); // only in the address line
    }, 60_000);
  }

  it.skipIf(!RENDERER_BUILT)(`--demo opens the demo firm (or, without a keychain, still the window)${NEEDS_BUILD}`, async () => {
    const run = startBrowserMode(['--demo']);
    const [, address, , key] = await waitFor(run, URL_LINE);
    const session = await call(new URL(address!), key!, 'session.get');
    expect(session.ok, JSON.stringify(session)).toBe(true);
    expect(session.value.demo).toBe(hasSecretService);
    if (!hasSecretService) expect(run.stderr()).toMatch(/The demo could not start: .*keychain/);
    run.child.kill('SIGINT');
    expect((await run.exited).code, run.stderr()).toBe(0);
  }, 60_000);

  it.skipIf(!RENDERER_BUILT)(`says so and exits 1 when the port is taken${NEEDS_BUILD}`, async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = startBrowserMode(['--port', String(port)]);
      const exit = await run.exited;
      expect(exit.code, run.stderr()).toBe(1);
      expect(run.stderr()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(run.stdout()).not.toMatch(/Relink is running/);
    } finally {
      blocker.close();
    }
  }, 60_000);
});

describe('start:browser usage', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    const value: Io = {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      readStdin: async () => '',
      stopSignal: () => new Promise(() => undefined),
    };
    return { value, out, err };
  };

  for (const args of [['--port', 'abc'], ['--port', '80'], ['--port', '70000'], ['--port'], ['--bogus'], ['extra'], ['--demo=yes']]) {
    it(`exits 2 with the usage for ${args.join(' ')}`, async () => {
      const { value, out, err } = io();
      expect(await main(args, value)).toBe(2);
      expect(out).toEqual([]);
      expect(err.join('\n')).toContain(USAGE);
    });
  }

  it('--help prints the usage and exits 0', async () => {
    const { value, out } = io();
    expect(await main(['--help'], value)).toBe(0);
    expect(out.join('\n')).toBe(USAGE);
  });
});
