import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect as tcpConnect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxServer } from '../../../main/sandbox/server.js';

/**
 * The `npm run sandbox` CLI as a person or a script meets it: a real process started with tsx, its stdout
 * and exit codes, and the socket it listens on (127.0.0.1 only, refusing other Host names).
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const LISTENING = /Xero sandbox listening on (http:\/\/127\.0\.0\.1:(\d+))\n/;

interface Cli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

const running = new Set<Cli>();

/** Spawns the CLI; unless `shared`, whatever is still running after the test is stopped by `stopLeftovers`. */
function startCli(args: string[], { shared = false } = {}): Cli {
  const child = spawn(TSX, ['main/sandbox/cli.ts', ...args], {
    cwd: ROOT,
    // tsx runs `env node`: make that the Node running these tests (the project's Node 22).
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  const cli: Cli = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout(pattern, timeoutMs = 10_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = pattern.exec(out);
          if (!m) return;
          cleanup();
          res(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`no ${pattern} on stdout within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          rej(new Error(`the CLI exited before printing ${pattern}; stdout: ${out}; stderr: ${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout!.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
  };
  if (!shared) {
    running.add(cli);
    void exited.then(() => running.delete(cli));
  }
  return cli;
}

/** Stops a CLI this file started (by its own pid), politely first so tsx can pass the signal on. */
async function stop(cli: Cli): Promise<void> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
  cli.child.kill('SIGTERM');
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 5000);
  await cli.exited;
  clearTimeout(timer);
}

async function stopLeftovers(): Promise<void> {
  await Promise.all([...running].map(stop));
}

/** A raw HTTP GET with a chosen Host header (fetch will not let a caller set one). */
function getWithHost(port: number, host: string, path = '/sandbox/state'): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.end();
  });
}

/** Whether a TCP connection to host:port opens. A refusal, error or silence within 2 s all count as "no". */
function canConnect(host: string, port: number): Promise<{ connected: boolean; reason: string }> {
  return new Promise((res) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      res({ connected: false, reason: 'timeout' });
    }, 2000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      res({ connected: true, reason: 'connected' });
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      res({ connected: false, reason: e.code ?? e.message });
    });
  });
}

const externalIPv4 = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

afterEach(stopLeftovers);

describe('sandbox CLI: a running server', () => {
  let cli: Cli;
  let origin: string;
  let port: number;
  let startupMs: number;

  beforeAll(async () => {
    const started = performance.now();
    cli = startCli(['--port', '0', '--seed', 'demo'], { shared: true });
    const m = await cli.waitForStdout(LISTENING);
    origin = m[1]!;
    port = Number(m[2]);
    for (;;) {
      const ok = await fetch(`${origin}/sandbox/state`).then((r) => r.ok, () => false);
      if (ok) break;
      if (performance.now() - started > 15_000) throw new Error('the CLI never answered');
      await new Promise((r) => setTimeout(r, 20));
    }
    startupMs = performance.now() - started;
    console.log(`sandbox CLI: spawn to first successful request took ${Math.round(startupMs)} ms (tsx transpile included)`);
  }, 30_000);
  afterAll(async () => {
    if (cli) await stop(cli);
  });

  it('prints its origin on stdout, with a summary of the seed', () => {
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(port).toBeGreaterThan(0);
    expect(cli.stdout()).toContain('seed demo: 40 organisations, 6 staff, 3 apps');
    expect(cli.stderr()).toBe('');
  });

  it('answers its first request within a few seconds of being spawned (the goal is under 1 s without tsx)', () => {
    expect(startupMs).toBeLessThan(5000);
  });

  it('serves the seeded world on 127.0.0.1 and on localhost', async () => {
    const state = await (await fetch(`${origin}/sandbox/state`)).json();
    expect(state.orgs).toHaveLength(40);
    expect((await getWithHost(port, `localhost:${port}`)).status).toBe(200);
    const discovery = await (await fetch(`${origin}/.well-known/openid-configuration`)).json();
    expect(discovery.issuer).toBe(origin);
  });

  it.skipIf(!externalIPv4)('cannot be reached through another network interface’s address', async () => {
    const attempt = await canConnect(externalIPv4!, port);
    expect(attempt.connected, `connected via ${externalIPv4}:${port}`).toBe(false);
  });
  if (!externalIPv4) console.log('sandbox CLI: no non-internal IPv4 interface here; the other-interface check is skipped');

  it('cannot be reached through other loopback addresses either (127.0.0.2, ::1)', async () => {
    expect((await canConnect('127.0.0.2', port)).connected).toBe(false);
    expect((await canConnect('::1', port)).connected).toBe(false);
    expect((await canConnect('127.0.0.1', port)).connected).toBe(true);
  });

  it('answers 421 to a request addressed to another host name (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, `192.168.1.10:${port}`]) {
      const res = await getWithHost(port, host);
      expect(res.status, host).toBe(421);
      expect(res.body).not.toContain('tenantId');
    }
  });
});

describe('sandbox CLI: stopping', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('exits with code 0 and prints "stopped" on %s', async (signal) => {
    const cli = startCli(['--port', '0', '--seed', 'empty']);
    const m = await cli.waitForStdout(LISTENING);
    const port = Number(m[2]);
    cli.child.kill(signal);
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.stdout()).toMatch(new RegExp(`stopped \\(${signal}\\)`));
    expect((await canConnect('127.0.0.1', port)).connected).toBe(false);
  });
});

describe('sandbox CLI: refusing to start', () => {
  it('exits 2 with a message for an unknown --seed', async () => {
    const cli = startCli(['--port', '0', '--seed', 'bogus']);
    const { code } = await cli.exited;
    expect(code).toBe(2);
    expect(cli.stderr()).toContain('--seed must be empty, demo or scale');
    expect(cli.stderr()).toContain('"bogus"');
    expect(cli.stdout()).not.toContain('listening');
  });

  it('exits 2 with a message naming the port when the port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const cli = startCli(['--port', String(port), '--seed', 'empty']);
      const { code } = await cli.exited;
      expect(code).toBe(2);
      expect(cli.stderr()).toContain(`port ${port} is already in use`);
      expect(cli.stdout()).not.toContain('listening');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it.each([
    [['--port', '70000'], /--port must be between 0 and 65535/],
    [['--port', 'eighty'], /--port takes a whole number/],
    [['--seed', 'scale', '--orgs', 'many'], /--orgs takes a whole number/],
    [['--colour', 'blue'], /Unknown option '--colour'/],
  ])('exits 2 with a message for bad arguments %j', async (args, message) => {
    const cli = startCli(args);
    const { code } = await cli.exited;
    expect(code).toBe(2);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).toContain('Usage: npm run sandbox');
  });
});

describe('sandbox CLI: options', () => {
  it('seeds a custom scale world from --orgs, --apps and --staff', async () => {
    const cli = startCli(['--port', '0', '--seed', 'scale', '--orgs', '30', '--apps', '1', '--staff', '3']);
    await cli.waitForStdout(LISTENING);
    await cli.waitForStdout(/seed scale: .*\n/);
    expect(cli.stdout()).toContain('seed scale: 30 organisations, 3 staff, 1 apps');
  });

  it('prints one line of JSON with --json, including web-app secrets for scripts', async () => {
    const cli = startCli(['--port', '0', '--seed', 'demo', '--json']);
    const m = await cli.waitForStdout(/^(\{.*\})\n/);
    const summary = JSON.parse(m[1]!);
    expect(summary.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.apps).toHaveLength(3);
    const web = summary.apps.find((a: { clientSecret?: string }) => a.clientSecret);
    expect(web.clientSecret.length).toBeGreaterThanOrEqual(32);
    expect((await fetch(`${summary.origin}/sandbox/state`)).status).toBe(200);
  });
});

describe('startSandboxServer in-process', () => {
  it('resolves in under 1000 ms with the demo seed', async () => {
    const started = performance.now();
    const sb = await startSandboxServer({ port: 0, seed: { seed: 'demo' } });
    const ms = performance.now() - started;
    try {
      console.log(`startSandboxServer (demo seed) resolved in ${Math.round(ms)} ms`);
      expect(ms).toBeLessThan(1000);
      expect((await fetch(`${sb.origin}/sandbox/state`)).status).toBe(200);
    } finally {
      await sb.close();
    }
  });
});
