import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../main/core/clock.js';
import { KeychainError, type Keychain } from '../../../main/secrets/keychain.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { CorruptSecretError, MAX_VALUE_LENGTH, REPROBE_AFTER_MS, KeychainVault, WRITABLE_FRESH_MS } from '../../../main/secrets/vault.js';

const SERVICE = 'Relink-test';
const T0 = Date.parse('2026-03-01T09:00:00.000Z');

/** Only `now` matters to the vault (prevSavedAt). */
function fixedClock(ms = T0): Clock & { set(ms: number): void } {
  let now = ms;
  return {
    now: () => now,
    monotonic: () => now,
    setTimer: () => ({ id: 0 }),
    clearTimer: () => undefined,
    set: (v: number) => {
      now = v;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<KeychainError> {
  const error = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeychainError);
  return error as KeychainError;
}

describe('KeychainVault', () => {
  let keychain: MemoryKeychain;
  let clock: ReturnType<typeof fixedClock>;
  let vault: KeychainVault;

  beforeEach(() => {
    keychain = new MemoryKeychain();
    clock = fixedClock();
    vault = new KeychainVault(keychain, SERVICE, clock);
  });

  describe('probe', () => {
    it('reports available after a canary write, read-back and delete, and leaves no canary behind', async () => {
      expect(vault.state).toBe('unknown');
      await expect(vault.probe()).resolves.toBe('available');
      expect(vault.state).toBe('available');
      expect(keychain.calls).toEqual({ get: 1, set: 1, delete: 1 });
      expect(keychain.accounts(SERVICE)).toEqual([]);
    });

    it('uses a fresh relink-canary-<random> account each time', async () => {
      const accounts: string[] = [];
      const recording: Keychain = {
        get: (service, account) => keychain.get(service, account),
        set: (service, account, value) => (accounts.push(account), keychain.set(service, account, value)),
        delete: (service, account) => keychain.delete(service, account),
      };
      const v = new KeychainVault(recording, SERVICE, clock);
      await v.probe();
      await v.probe();
      expect(accounts).toHaveLength(2);
      for (const a of accounts) expect(a).toMatch(/^relink-canary-[0-9a-f]{16}$/);
      expect(accounts[0]).not.toBe(accounts[1]);
    });

    it('reports locked when the keychain is locked', async () => {
      keychain.state = 'locked';
      await expect(vault.probe()).resolves.toBe('locked');
      expect(vault.state).toBe('locked');
    });

    it('reports unavailable when there is no keychain service', async () => {
      keychain.state = 'unavailable';
      await expect(vault.probe()).resolves.toBe('unavailable');
    });

    it('reports unavailable when writes fail', async () => {
      keychain.state = 'fail-writes';
      await expect(vault.probe()).resolves.toBe('unavailable');
    });

    it('is NOT fooled by a keychain that answers null to every read (the no-session-bus trap)', async () => {
      keychain.state = 'fail-reads-as-null';
      await expect(vault.probe()).resolves.toBe('unavailable');
      // The canary it wrote is cleaned up anyway.
      expect(keychain.accounts(SERVICE)).toEqual([]);
    });

    it('recovers to available once the keychain is unlocked and probed again', async () => {
      keychain.state = 'locked';
      await vault.probe();
      keychain.state = 'available';
      await expect(vault.probe()).resolves.toBe('available');
    });
  });

  describe('refresh tokens', () => {
    it('stores ONE entry per grant under grant:<grantId>, whatever the number of organisations', async () => {
      await vault.saveInitial('g-jane-sync', 'rt-1');
      await vault.saveInitial('g-tom-payroll', 'rt-2');
      await vault.saveRotated('g-jane-sync', 'rt-3', 'rt-1');
      expect(keychain.accounts(SERVICE).sort()).toEqual(['grant:g-jane-sync', 'grant:g-tom-payroll']);
    });

    it('saveInitial stores {v:1, rt, prev:null, prevSavedAt:null} and readGrant returns it', async () => {
      await vault.saveInitial('g1', 'rt-initial');
      expect(JSON.parse(keychain.peek(SERVICE, 'grant:g1')!)).toEqual({ v: 1, rt: 'rt-initial', prev: null, prevSavedAt: null });
      await expect(vault.readGrant('g1')).resolves.toEqual({ refreshToken: 'rt-initial', previous: null, previousSavedAt: null });
    });

    it('saveRotated keeps the replaced token as previous, with the time it was set aside', async () => {
      await vault.saveInitial('g1', 'rt-A');
      clock.set(T0 + 60_000);
      await vault.saveRotated('g1', 'rt-B', 'rt-A');
      await expect(vault.readGrant('g1')).resolves.toEqual({
        refreshToken: 'rt-B',
        previous: 'rt-A',
        previousSavedAt: '2026-03-01T09:01:00.000Z',
      });
      clock.set(T0 + 120_000);
      await vault.saveRotated('g1', 'rt-C', 'rt-B');
      const g = await vault.readGrant('g1');
      expect(g).toEqual({ refreshToken: 'rt-C', previous: 'rt-B', previousSavedAt: '2026-03-01T09:02:00.000Z' });
    });

    it('saveRotated reads the entry back after writing it', async () => {
      await vault.probe();
      keychain.resetCalls();
      await vault.saveRotated('g1', 'rt-B', 'rt-A');
      expect(keychain.calls).toEqual({ get: 1, set: 1, delete: 0 });
    });

    it('detects a read-back that does not match and throws KeychainError(failed) without echoing tokens', async () => {
      await vault.probe();
      // The keychain accepts the write but answers "not found" (as libsecret does without a session bus).
      keychain.state = 'fail-reads-as-null';
      const error = await rejection(vault.saveRotated('g1', 'rt-NEW-secret-value', 'rt-OLD-secret-value'));
      expect(error.kind).toBe('failed');
      expect(error.message).toMatch(/did not return/);
      expect(error.message).not.toContain('rt-NEW-secret-value');
      expect(error.message).not.toContain('rt-OLD-secret-value');
    });

    it('detects a read-back that returns a different value', async () => {
      // A keychain that stores grant entries but hands back another one (a second program wrote over it).
      const tampering: Keychain = {
        get: async (service, account) =>
          account.startsWith('grant:')
            ? JSON.stringify({ v: 1, rt: 'someone-elses-token', prev: null, prevSavedAt: null })
            : keychain.get(service, account),
        set: (service, account, value) => keychain.set(service, account, value),
        delete: (service, account) => keychain.delete(service, account),
      };
      const v = new KeychainVault(tampering, SERVICE, clock);
      expect(await v.probe()).toBe('available');
      const error = await rejection(v.saveRotated('g1', 'rt-new', 'rt-old'));
      expect(error.kind).toBe('failed');
      expect(error.message).toMatch(/answered a different value/);
      expect(error.message).not.toContain('someone-elses-token');
    });

    it('deleteGrant removes the entry and says whether there was one', async () => {
      await vault.saveInitial('g1', 'rt');
      await expect(vault.deleteGrant('g1')).resolves.toBe(true);
      await expect(vault.deleteGrant('g1')).resolves.toBe(false);
      await expect(vault.readGrant('g1')).resolves.toBeNull();
    });

    it('readGrant returns null only for a grant that has no entry in a working keychain', async () => {
      await expect(vault.readGrant('never-saved')).resolves.toBeNull();
    });

    it('a corrupt entry is an error, not "no token", and the message does not quote it', async () => {
      await vault.probe();
      keychain.poke(SERVICE, 'grant:g1', 'not json at all: rt-leaky-value');
      const e1 = await rejection(vault.readGrant('g1'));
      expect(e1).toBeInstanceOf(CorruptSecretError);
      expect(e1.kind).toBe('failed');
      expect(e1.message).not.toContain('rt-leaky-value');

      keychain.poke(SERVICE, 'grant:g2', JSON.stringify({ v: 2, rt: 'rt-leaky-value' }));
      const e2 = await rejection(vault.readGrant('g2'));
      expect(e2).toBeInstanceOf(CorruptSecretError);
      expect(e2.message).not.toContain('rt-leaky-value');

      keychain.poke(SERVICE, 'grant:g3', JSON.stringify({ v: 1, rt: '', prev: null, prevSavedAt: null }));
      await expect(vault.readGrant('g3')).rejects.toBeInstanceOf(CorruptSecretError);
      // Left untouched for a human to look at.
      expect(keychain.peek(SERVICE, 'grant:g1')).toBe('not json at all: rt-leaky-value');
    });
  });

  describe('size limit (Windows Credential Manager: 1,280 UTF-16 characters)', () => {
    it('refuses a document over the limit with a clear too-large error and writes nothing', async () => {
      await vault.probe();
      keychain.resetCalls();
      const big = 'r'.repeat(1_300);
      const error = await rejection(vault.saveInitial('g1', big));
      expect(error.kind).toBe('too-large');
      expect(error.message).toMatch(/at most 1280/);
      expect(error.message).toMatch(/Windows Credential Manager/);
      expect(error.message).not.toContain(big);
      expect(keychain.calls.set).toBe(0);
    });

    it('counts the whole JSON document, not just the token: two 620-char tokens do not fit', async () => {
      await vault.probe();
      const rt = 'a'.repeat(620);
      const prev = 'b'.repeat(620);
      expect(rt.length + prev.length).toBeLessThanOrEqual(MAX_VALUE_LENGTH);
      const error = await rejection(vault.saveRotated('g1', rt, prev));
      expect(error.kind).toBe('too-large');
    });

    it('accepts a document that fits exactly', async () => {
      const overhead = JSON.stringify({ v: 1, rt: '', prev: null, prevSavedAt: null }).length;
      const rt = 'x'.repeat(MAX_VALUE_LENGTH - overhead);
      await vault.saveInitial('g1', rt);
      await expect(vault.readGrant('g1')).resolves.toMatchObject({ refreshToken: rt });
    });

    it('applies to client secrets too', async () => {
      const error = await rejection(vault.saveClientSecret('app1', 's'.repeat(MAX_VALUE_LENGTH + 1)));
      expect(error.kind).toBe('too-large');
    });
  });

  describe('locked or unavailable keychain', () => {
    it('every operation throws with what to do; nothing reads as "no token"', async () => {
      await vault.saveInitial('g1', 'rt');
      keychain.state = 'locked';
      await vault.probe();
      for (const op of [
        () => vault.readGrant('g1'),
        () => vault.readGrant('missing'),
        () => vault.saveInitial('g2', 'rt'),
        () => vault.saveRotated('g1', 'rt2', 'rt'),
        () => vault.deleteGrant('g1'),
        () => vault.readClientSecret('app'),
        () => vault.saveClientSecret('app', 'secret-value'),
        () => vault.deleteClientSecret('app'),
      ]) {
        const error = await rejection(op());
        expect(error.kind).toBe('locked');
        expect(error.message).toContain(
          'Unlock your keychain (GNOME Keyring / macOS Keychain / Windows Credential Manager) and try again',
        );
      }
    });

    it('throws unavailable (not null) when the canary showed reads cannot be trusted', async () => {
      await vault.saveInitial('g1', 'rt');
      keychain.state = 'fail-reads-as-null';
      expect(await vault.probe()).toBe('unavailable');
      const error = await rejection(vault.readGrant('g1'));
      expect(error.kind).toBe('unavailable');
      expect(error.message).toContain('Unlock your keychain');
    });

    it('probes on first use, so a fresh vault over a locked keychain never answers null', async () => {
      keychain.state = 'locked';
      const error = await rejection(vault.readGrant('g1'));
      expect(error.kind).toBe('locked');
      expect(vault.state).toBe('locked');
    });

    it('notices a keychain that locks while running and fails fast afterwards', async () => {
      await vault.saveInitial('g1', 'rt');
      expect(vault.state).toBe('available');
      keychain.state = 'locked';
      const first = await rejection(vault.readGrant('g1'));
      expect(first.kind).toBe('locked');
      expect(vault.state).toBe('locked');
      keychain.resetCalls();
      await rejection(vault.readGrant('g1'));
      expect(keychain.calls.get).toBe(0);
    });

    it('asks the keychain again REPROBE_AFTER_MS after it failed, and works again by itself once unlocked', async () => {
      await vault.saveInitial('g1', 'rt');
      keychain.state = 'locked';
      await rejection(vault.readGrant('g1'));
      keychain.state = 'available';
      // Still inside the window: fails fast, without asking.
      clock.set(T0 + REPROBE_AFTER_MS - 1);
      keychain.resetCalls();
      expect((await rejection(vault.readGrant('g1'))).kind).toBe('locked');
      expect(keychain.calls).toEqual({ get: 0, set: 0, delete: 0 });
      // Past it: the next call probes first, finds the keychain unlocked and goes through.
      clock.set(T0 + REPROBE_AFTER_MS);
      await expect(vault.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt' });
      expect(vault.state).toBe('available');
    });

    it('announces each change of state once: locked, then available again', async () => {
      const seen: string[] = [];
      vault.onStateChange((s) => seen.push(s));
      await vault.probe();
      await vault.saveInitial('g1', 'rt');
      keychain.state = 'locked';
      await rejection(vault.readGrant('g1'));
      await rejection(vault.readGrant('g1'));
      keychain.state = 'available';
      await vault.probe();
      expect(seen).toEqual(['available', 'locked', 'available']);
    });

    it('ensureWritable trusts a call from the last few seconds, and otherwise proves the keychain can be written', async () => {
      await vault.saveInitial('g1', 'rt');
      keychain.resetCalls();
      await vault.ensureWritable();
      expect(keychain.calls).toEqual({ get: 0, set: 0, delete: 0 });
      // Locked since, without any call noticing: a few seconds later ensureWritable finds out before anything is sent.
      keychain.state = 'locked';
      clock.set(T0 + WRITABLE_FRESH_MS);
      expect((await rejection(vault.ensureWritable())).kind).toBe('locked');
      expect(keychain.calls.set).toBe(1); // the probe's canary write, refused
      expect(vault.state).toBe('locked');
    });

    it('a keychain call given up on (not-answering) is its own state, and retried like a lock', async () => {
      await vault.saveInitial('g1', 'rt');
      const stuck = new (class extends MemoryKeychain {
        hang = false;
        override async get(service: string, account: string) {
          if (this.hang) throw new KeychainError('not-answering', 'The keychain is not answering. Relink will keep trying; nothing was changed. (timed out)');
          return super.get(service, account);
        }
      })();
      const v = new KeychainVault(stuck, SERVICE, clock);
      await v.saveInitial('g1', 'rt');
      stuck.hang = true;
      const error = await rejection(v.readGrant('g1'));
      expect(error.kind).toBe('not-answering');
      expect(error.message).toMatch(/^The keychain is not answering\. Relink will keep trying; nothing was changed\./);
      expect(v.state).toBe('not-answering');
      stuck.hang = false;
      clock.set(T0 + REPROBE_AFTER_MS);
      await expect(v.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt' });
      expect(v.state).toBe('available');
    });

    it('a failing write surfaces as KeychainError(failed) and leaves the previous entry intact', async () => {
      await vault.saveInitial('g1', 'rt-A');
      keychain.state = 'fail-writes';
      const error = await rejection(vault.saveRotated('g1', 'rt-B', 'rt-A'));
      expect(error.kind).toBe('failed');
      keychain.state = 'available';
      await expect(vault.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt-A' });
    });
  });

  describe('client secrets', () => {
    it('live under app-secret:<appId> and round-trip', async () => {
      await vault.saveClientSecret('app-reporting', 'web-app-secret-1');
      expect(keychain.accounts(SERVICE)).toEqual(['app-secret:app-reporting']);
      await expect(vault.readClientSecret('app-reporting')).resolves.toBe('web-app-secret-1');
      await expect(vault.deleteClientSecret('app-reporting')).resolves.toBe(true);
      await expect(vault.readClientSecret('app-reporting')).resolves.toBeNull();
    });
  });

  describe('service name', () => {
    it('defaults to Relink and keeps differently named vaults apart', async () => {
      const prod = new KeychainVault(keychain, undefined, clock);
      const dev = new KeychainVault(keychain, 'Relink-dev', clock);
      expect(prod.serviceName).toBe('Relink');
      await prod.saveInitial('g1', 'rt-prod');
      await dev.saveInitial('g1', 'rt-dev');
      await expect(prod.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt-prod' });
      await expect(dev.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt-dev' });
      expect(keychain.accounts('Relink')).toEqual(['grant:g1']);
      expect(keychain.accounts('Relink-dev')).toEqual(['grant:g1']);
    });
  });

  it('serialises operations on one entry: a write and its read-back are never interleaved', async () => {
    await vault.probe();
    await Promise.all(Array.from({ length: 20 }, (_, i) => vault.saveRotated('g1', `rt-${i + 1}`, `rt-${i}`)));
    await expect(vault.readGrant('g1')).resolves.toMatchObject({ refreshToken: 'rt-20', previous: 'rt-19' });
  });
});
