import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GrantLock, GrantLockCompromisedError, GrantLockTimeoutError, type GrantLockContext } from '../../../main/refresh/grant-lock.js';

/**
 * The cross-process refresh lock (security-anchors H2, fault matrix #18), against the real file system and
 * a real second process. Stale/update are set to proper-lockfile's minimums (2 s / 1 s) to keep this quick.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const HOLDER = join(ROOT, 'test/main/refresh/fixtures/hold-grant-lock.ts');
const STALE = 2000;
const UPDATE = 1000;
const FAST = { stale: STALE, update: UPDATE, retryMinMs: 20, retryMaxMs: 200 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Holder {
  child: ChildProcess;
  /** The pid of the process that actually holds the lock (tsx runs the script in a child of `child`). */
  pid: Promise<number>;
  exited: Promise<void>;
  release(): void;
  stdout(): string;
}

const holders = new Set<Holder>();
const holderPids = new Set<number>();

function startHolder(lockDir: string, grantId: string): Holder {
  const child = spawn(TSX, [HOLDER, lockDir, grantId, String(STALE), String(UPDATE)], {
    cwd: ROOT,
    // tsx runs `env node`: make that the Node running these tests.
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const pid = new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`holder did not lock within 15 s; stdout: ${out}; stderr: ${err}`)), 15_000);
    const check = () => {
      const m = /locked (\d+)\n/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      holderPids.add(Number(m[1]));
      res(Number(m[1]));
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      rej(new Error(`holder exited before locking; stdout: ${out}; stderr: ${err}`));
    });
  });
  const holder: Holder = { child, pid, exited, release: () => child.stdin!.write('release\n'), stdout: () => out };
  holders.add(holder);
  return holder;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relink-grant-lock-'));
});
afterEach(async () => {
  // Stop only what this file started, by pid.
  for (const pid of holderPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  holderPids.clear();
  await Promise.all(
    [...holders].map(async (h) => {
      if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
      await h.exited;
    }),
  );
  holders.clear();
  await rm(dir, { recursive: true, force: true });
});

describe('GrantLock in one process', () => {
  it('serializes holders of one grant in arrival order and lets other grants run alongside', async () => {
    const lock = new GrantLock(dir, FAST);
    const events: string[] = [];
    const hold = (grant: string, name: string, ms: number) =>
      lock.withLock(grant, async () => {
        events.push(`${name}+`);
        await sleep(ms);
        events.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([hold('g1', 'a', 60), hold('g1', 'b', 10), hold('g1', 'c', 10), hold('g2', 'x', 20)]);
    expect(results).toEqual(['a', 'b', 'c', 'x']);
    const g1 = events.filter((e) => !e.startsWith('x'));
    expect(g1).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    // g2 did not wait for g1's holders.
    expect(events.indexOf('x+')).toBeLessThan(events.indexOf('a-'));
    // Released: no lock directories are left behind.
    expect((await readdir(dir)).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  it('releases the lock when fn throws, and passes the error on', async () => {
    const lock = new GrantLock(dir, FAST);
    await expect(
      lock.withLock('g', () => {
        throw new Error('token endpoint said 500');
      }),
    ).rejects.toThrow('token endpoint said 500');
    expect(await lock.withLock('g', () => 'next holder got it')).toBe('next holder got it');
  });

  it('times out with a clear message when the grant stays locked', async () => {
    const lock = new GrantLock(dir, { ...FAST, maxWaitMs: 300 });
    let release!: () => void;
    const held = lock.withLock('g', () => new Promise<void>((r) => (release = r)));
    const started = performance.now();
    const err = await lock.withLock('g', () => 'never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrantLockTimeoutError);
    expect((err as Error).message).toMatch(/^Another Relink process is refreshing this connection/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    release();
    await held;
    // The queue is intact after a waiter gave up.
    expect(await lock.withLock('g', () => 'ok')).toBe('ok');
  });

  it('creates the lock directory and a per-grant target file, even for an awkward grant id', async () => {
    const nested = join(dir, 'not', 'yet', 'there');
    const lock = new GrantLock(nested, FAST);
    const weird = '../../etc/passwd:ü';
    const target = lock.lockTargetPath(weird);
    expect(dirname(target)).toBe(nested);
    expect(lock.lockTargetPath('other')).not.toBe(target);
    await lock.withLock(weird, () => {
      expect(existsSync(target)).toBe(true);
      expect(existsSync(`${target}.lock`)).toBe(true);
    });
    expect(existsSync(`${target}.lock`)).toBe(false);
  });

  it('rejects timings proper-lockfile would silently change', () => {
    expect(() => new GrantLock(dir, { stale: 1000 })).toThrow(RangeError);
    expect(() => new GrantLock(dir, { stale: 4000, update: 3000 })).toThrow(RangeError);
    expect(() => new GrantLock(dir, { stale: 4000, update: 500 })).toThrow(RangeError);
    expect(() => new GrantLock(dir)).not.toThrow();
  });

  it('tells the holder to stop when the lock is compromised, without crashing the process', async () => {
    const lock = new GrantLock(dir, FAST);
    const target = lock.lockTargetPath('g');
    let seen: { compromised: boolean; assertError: unknown } | null = null;
    const result = await lock.withLock('g', async (ctx: GrantLockContext) => {
      expect(ctx.compromised).toBe(false);
      expect(() => ctx.assertHeld()).not.toThrow();
      // Someone deletes the lock from under us; the next heartbeat (≤ 1 s) notices.
      await rm(`${target}.lock`, { recursive: true });
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error('compromise not signalled within 5 s')), 5000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), res()));
      });
      let assertError: unknown = null;
      try {
        ctx.assertHeld();
      } catch (e) {
        assertError = e;
      }
      seen = { compromised: ctx.compromised, assertError };
      return 'stopped before persisting';
    });
    expect(result).toBe('stopped before persisting');
    expect(seen!.compromised).toBe(true);
    expect(seen!.assertError).toBeInstanceOf(GrantLockCompromisedError);
    expect(await lock.withLock('g', () => 'usable again')).toBe('usable again');
  });
});

describe('GrantLock across processes', () => {
  it('blocks while another process holds the lock — past the stale window, as the holder keeps it fresh — until it releases', async () => {
    const holder = startHolder(dir, 'grant-1');
    await holder.pid;
    const lock = new GrantLock(dir, { ...FAST, maxWaitMs: 15_000 });
    let acquiredAt: number | null = null;
    const contender = lock.withLock('grant-1', () => {
      acquiredAt = performance.now();
    });
    // Longer than `stale`: a live holder's heartbeat must keep the lock from being taken as stale.
    await sleep(STALE + 1500);
    expect(acquiredAt).toBeNull();
    const releasedAt = performance.now();
    holder.release();
    await contender;
    expect(acquiredAt).not.toBeNull();
    expect(acquiredAt!).toBeGreaterThanOrEqual(releasedAt);
    await holder.exited;
    expect(holder.stdout()).toContain('released');
  }, 30_000);

  it('takes over the lock of a holder killed with SIGKILL once it goes stale', async () => {
    const holder = startHolder(dir, 'grant-1');
    const pid = await holder.pid;
    const lock = new GrantLock(dir, { ...FAST, maxWaitMs: 15_000 });
    await sleep(200);
    process.kill(pid, 'SIGKILL');
    const killedAt = performance.now();
    await holder.exited;
    // The dead holder left its lock behind (no exit handler runs on SIGKILL).
    expect(existsSync(`${lock.lockTargetPath('grant-1')}.lock`)).toBe(true);
    const value = await lock.withLock('grant-1', () => 'taken over');
    const waited = performance.now() - killedAt;
    expect(value).toBe('taken over');
    // Not at once (the lock looked live until its mtime aged past `stale`), and not much later than that.
    expect(waited).toBeGreaterThanOrEqual(STALE - UPDATE - 100);
    expect(waited).toBeLessThan(STALE + 2000);
  }, 30_000);

  it('gives up with the clear error when another process holds the lock too long', async () => {
    const holder = startHolder(dir, 'grant-1');
    await holder.pid;
    const lock = new GrantLock(dir, { ...FAST, maxWaitMs: 800 });
    const started = performance.now();
    const err = await lock.withLock('grant-1', () => 'never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrantLockTimeoutError);
    expect((err as GrantLockTimeoutError).grantId).toBe('grant-1');
    expect((err as Error).message).toMatch(/^Another Relink process is refreshing this connection/);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(780);
    expect(waited).toBeLessThan(3000);
    holder.release();
    await holder.exited;
  }, 30_000);
});
