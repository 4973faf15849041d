import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileLock } from '../../../main/store/file-lock.js';

const repo = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createFileLock (proper-lockfile)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('locks a path whose file does not exist yet, and releases it', async () => {
    const lock = createFileLock({ staleMs: 2_000 });
    const file = path.join(dir, 'relink.json');
    const release = await lock(file);
    expect(fs.existsSync(`${file}.lock`)).toBe(true);
    await release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('excludes a second holder until the first releases', async () => {
    const lock = createFileLock({ staleMs: 2_000 });
    const file = path.join(dir, 'relink.json');
    const order: string[] = [];
    const first = await lock(file);
    const second = lock(file).then((release) => {
      order.push('second acquired');
      return release;
    });
    await sleep(150);
    order.push('first releasing');
    await first();
    await (await second)();
    expect(order).toEqual(['first releasing', 'second acquired']);
  });

  it('gives up with an error when the lock stays held by a live holder', async () => {
    const file = path.join(dir, 'relink.json');
    const holder = await createFileLock({ staleMs: 2_000 })(file);
    try {
      const impatient = createFileLock({ staleMs: 2_000, maxWaitMs: 300 });
      await expect(impatient(file)).rejects.toThrow(/already being held|ELOCKED/i);
    } finally {
      await holder();
    }
  });

  it('takes over a lock left behind by a crash (no heartbeat for longer than stale)', async () => {
    const file = path.join(dir, 'relink.json');
    fs.mkdirSync(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(`${file}.lock`, old, old);
    const release = await createFileLock({ staleMs: 2_000, maxWaitMs: 1_000 })(file);
    await release();
  });

  it('reclaims the lock after its holder is killed with SIGKILL', async () => {
    const file = path.join(dir, 'relink.json');
    const script = path.join(dir, 'holder.mts');
    fs.writeFileSync(
      script,
      `import { createFileLock } from ${JSON.stringify(pathToFileURL(path.join(repo, 'main/store/file-lock.ts')).href)};
await createFileLock({ staleMs: 2000 })(process.argv[2]);
console.log('locked');
setInterval(() => undefined, 1000);`,
    );
    // Node with tsx's loader rather than the tsx CLI, which would run the script in a grandchild that
    // SIGKILL of the CLI leaves alive (still holding the lock).
    const child = spawn(process.execPath, ['--import', 'tsx', script, file], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
        child.on('exit', (code) => reject(new Error(`holder exited early (${code})`)));
      });
      // While the holder lives, its heartbeat keeps the lock fresh.
      await expect(createFileLock({ staleMs: 2_000, maxWaitMs: 2_500 })(file)).rejects.toThrow();
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGKILL');
      await exited;
      const started = Date.now();
      const release = await createFileLock({ staleMs: 2_000, maxWaitMs: 10_000 })(file);
      const waited = Date.now() - started;
      await release();
      expect(waited).toBeLessThan(6_000);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
