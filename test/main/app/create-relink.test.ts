import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { createRelink, localProfile } from '../../../main/app/create-relink.js';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import type { CommitEvent, StoragePorts } from '../../../main/store/ports.js';

/**
 * The composition root: createRelink builds the service over whichever storage it is given — a factory
 * (localProfile: today's files and keychain) or ports already open — and the service then works only through
 * those ports. That is what lets a second implementation (the firm database) be added without touching it.
 */
describe('createRelink (the composition root)', () => {
  let dir: string;
  const clock = new SystemClock();

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-root-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens the local profile from a data folder: metadata file, probed keychain, journal, activity log', async () => {
    const keychain = new MemoryKeychain();
    const service = await createRelink({
      storage: localProfile({ dataDir: dir, keychainService: 'relink-root-test', keychain, backend: new ConfBackend(dir) }),
      clock,
      actor: 'cli',
    });
    try {
      expect(service.recovery).toBeNull();
      expect(service.keychainState).toBe('available');
      await service.updateSettings({ notifications: false });
    } finally {
      await service.close();
    }
    expect(fs.existsSync(path.join(dir, 'relink.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'refresh-journal'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'activity.jsonl'), 'utf8')).toContain('settings-changed');
  });

  it('runs on ports it is handed, and only through them: what it records goes to the ports given', async () => {
    const open = await localProfile({ dataDir: dir, keychainService: 'relink-root-test', keychain: new MemoryKeychain(), backend: new ConfBackend(dir) })(clock);
    const appended: string[] = [];
    const locked: string[] = [];
    const commits: CommitEvent[] = [];
    open.store.onCommit((e) => commits.push(e));
    // A second implementation stands in for two of the ports, wrapping the local ones.
    const ports: StoragePorts = {
      ...open,
      activity: {
        append: async (entry) => {
          appended.push(entry.action);
          return open.activity.append(entry);
        },
        read: (q) => open.activity.read(q),
      },
      lock: {
        withLock: (grantId, fn) => {
          locked.push(grantId);
          return open.lock.withLock(grantId, fn);
        },
      },
    };
    const service = await createRelink({ storage: ports, clock, actor: 'advisor', osUser: 'alex' });
    try {
      await service.updateSettings({ probeIntervalMinutes: 45 });
      expect(service.settings().probeIntervalMinutes).toBe(45);
      expect(appended).toContain('settings-changed');
      expect(commits.some((c) => c.settings)).toBe(true);
      expect(service.store).toBe(open.store);
    } finally {
      await service.close();
    }
    expect(locked).toEqual([]); // nothing was refreshed, so nothing was locked
  });

  it('forgetSecrets deletes the profile\'s keychain entries through the vault port, so hosts never reach into it', async () => {
    const keychain = new MemoryKeychain();
    const storage = localProfile({ dataDir: dir, keychainService: 'relink-root-test', keychain, backend: new ConfBackend(dir) });
    const service = await createRelink({ storage, clock, actor: 'advisor' });
    try {
      await service.vault.saveInitial('g-1', 'rt-secret-one');
      await service.vault.saveClientSecret('web-app', 'client-secret-one');
      await service.store.update((d) => {
        d.grants['g-1'] = {
          id: 'g-1', appId: 'web-app', staffId: 's-1', scopes: [], authEventIds: [], connectedAt: '2026-03-01T09:00:00.000Z',
          refreshTokenIssuedAt: '2026-03-01T09:00:00.000Z', lastRefreshAt: null, lastProbeAt: null, consecutiveFailures: 0,
          lastFailure: null, state: 'active', stateSince: '2026-03-01T09:00:00.000Z',
        };
        d.apps['web-app'] = {
          id: 'web-app', name: 'Web app', provider: 'xero', clientId: 'CLIENT', authType: 'web', issuer: 'https://identity.xero.com',
          apiBase: 'https://api.xero.com', redirectPorts: [5001], scopes: ['offline_access'], connectionCap: null, multiOrgConsent: false,
          createdBy: null, createdAt: '2026-03-01T09:00:00.000Z',
        } as never;
      });
      await service.forgetSecrets();
      await expect(service.vault.readGrant('g-1')).resolves.toBeNull();
      await expect(service.vault.readClientSecret('web-app')).resolves.toBeNull();
    } finally {
      await service.close();
    }
  });
});
