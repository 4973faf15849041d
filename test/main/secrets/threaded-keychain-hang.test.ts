import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { CAN_START_PRIVATE_KEYRING, NEEDS_PRIVATE_KEYRING, startPrivateKeyring, type PrivateKeyring } from '../../support/keyring-control.js';
import { ROOT } from '../../support/relink-cli.js';

/**
 * A Secret Service daemon that stops answering, or dies in the middle of a call (issue 9, item 4), against the
 * real gnome-keyring on a private bus: every call comes back by its deadline as "not answering", never
 * hangs, and calls work again once a daemon answers — on a fresh worker, as the one stuck in the dead call is
 * given up on. The calls are made by a child process (fixtures/keychain-calls.ts) with a 1.5 s deadline.
 */

interface Answer {
  ok: boolean;
  value?: unknown;
  kind?: string;
  message?: string;
  ms: number;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function caller(keyring: PrivateKeyring) {
  const child: ChildProcess = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'test/main/secrets/fixtures/keychain-calls.ts')], {
    env: { ...process.env, ...keyring.env, KEYCHAIN_TIMEOUT_MS: '1500' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const answers: Answer[] = [];
  const waiting: Array<(a: Answer) => void> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const a = JSON.parse(line) as Answer;
    const w = waiting.shift();
    if (w) w(a);
    else answers.push(a);
  });
  return {
    child,
    call(line: string, timeoutMs = 10_000): Promise<Answer> {
      child.stdin!.write(`${line}\n`);
      const ready = answers.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to "${line}" within ${timeoutMs} ms: the call hung`)), timeoutMs);
        waiting.push((a) => {
          clearTimeout(timer);
          resolve(a);
        });
      });
    },
  };
}

describe('ThreadedKeychain when the Secret Service stops answering (real gnome-keyring)', () => {
  it.skipIf(!CAN_START_PRIVATE_KEYRING)(`a frozen daemon: the call gives up at its deadline as "not answering"; once it answers again, so do calls${NEEDS_PRIVATE_KEYRING}`, async () => {
    const keyring = await startPrivateKeyring();
    cleanups.push(() => keyring.close());
    const k = caller(keyring);
    expect(await k.call('set a first')).toMatchObject({ ok: true });

    const pid = (await keyring.daemonPid())!;
    process.kill(pid, 'SIGSTOP');
    cleanups.push(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    });
    const frozen = await k.call('get a');
    expect(frozen).toMatchObject({ ok: false, kind: 'not-answering' });
    expect(frozen.message).toMatch(/^The keychain is not answering\. Relink will keep trying; nothing was changed\./);
    expect(frozen.ms).toBeGreaterThanOrEqual(1400);
    expect(frozen.ms).toBeLessThan(5_000);
    expect(await k.call('stuck')).toMatchObject({ value: 1 });

    process.kill(pid, 'SIGCONT');
    // The stuck worker's call returns at last (and that worker is ended); a fresh worker answers meanwhile.
    expect(await k.call('get a')).toMatchObject({ ok: true, value: 'first' });
  });

  it.skipIf(!CAN_START_PRIVATE_KEYRING)(`a daemon killed in the middle of a call: that call ends by its deadline, the next answers "locked" at once, and after an unlock the entry is there${NEEDS_PRIVATE_KEYRING}`, async () => {
    const keyring = await startPrivateKeyring();
    cleanups.push(() => keyring.close());
    const k = caller(keyring);
    expect(await k.call('set a first')).toMatchObject({ ok: true });

    const pid = (await keyring.daemonPid())!;
    process.kill(pid, 'SIGSTOP'); // hold the call inside the daemon…
    const pending = k.call('get a');
    await new Promise((r) => setTimeout(r, 500));
    await keyring.killDaemon(); // …and kill it there
    const cut = await pending;
    expect(cut.ok).toBe(false);
    expect(['not-answering', 'unavailable', 'failed']).toContain(cut.kind);
    expect(cut.ms).toBeLessThan(5_000);

    // The next call answers rather than hangs: D-Bus starts a new daemon for it, which opens the keyring
    // locked (as after a crash on a desktop), so it says so at once.
    const after = await k.call('get a');
    expect(after).toMatchObject({ ok: false, kind: 'locked' });
    expect(after.ms).toBeLessThan(5_000);

    // Unlocked (the person signs in again): the entry is there, untouched by the crash.
    await keyring.unlock();
    expect(await k.call('get a')).toMatchObject({ ok: true, value: 'first' });
  });
});
