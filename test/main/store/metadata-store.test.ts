import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Grant } from '../../../shared/domain.js';
import { grantRecord, RECORDED_AT } from '../../support/grant-record.js';
import { SystemClock } from '../../../main/core/clock.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { createFileLock, type FileLock } from '../../../main/store/file-lock.js';
import { MetadataStore, type RecoveryEvent } from '../../../main/store/metadata-store.js';
import { InvalidMetadataError, NewerSchemaError, SCHEMA_VERSION, emptyMetadata, type MetadataDocument } from '../../../main/store/schema.js';

const repo = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const AT = RECORDED_AT;

const grant = grantRecord;

/** ConfBackend that counts writes and can be told to fail the next ones (a full disk). */
class TestBackend extends ConfBackend {
  writes = 0;
  failNext = 0;
  override write(doc: unknown): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    this.writes++;
    super.write(doc);
  }
}

/** The file as another process would read it. */
const onDisk = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')) as MetadataDocument;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MetadataStore', () => {
  let dir: string;
  let lock: FileLock;
  const stores: MetadataStore[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-meta-'));
    lock = createFileLock({ staleMs: 2_000 });
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openStore(opts: { backend?: ConfBackend; coalesceMs?: number; lastGoodIntervalMs?: number } = {}) {
    const backend = opts.backend ?? new TestBackend(dir);
    const store = new MetadataStore(backend, new SystemClock(), lock, {
      coalesceMs: opts.coalesceMs ?? 100,
      lastGoodIntervalMs: opts.lastGoodIntervalMs ?? 5 * 60_000,
    });
    stores.push(store);
    const result = await store.open();
    return { store, backend: backend as TestBackend, result };
  }

  describe('reading', () => {
    it('starts empty on a new data folder without writing anything until the first update', async () => {
      const { store, result } = await openStore();
      expect(result).toEqual({ source: 'new', fromVersion: null, recovery: null });
      expect(store.get()).toEqual(emptyMetadata());
      expect(fs.existsSync(path.join(dir, 'relink.json'))).toBe(false);
    });

    it('get() returns a deep-frozen snapshot that callers cannot mutate', async () => {
      const { store } = await openStore();
      await store.update((d) => {
        d.grants.g1 = grant('g1');
      });
      const snap = store.get();
      expect(Object.isFrozen(snap)).toBe(true);
      expect(Object.isFrozen(snap.grants.g1)).toBe(true);
      expect(() => {
        (snap.grants.g1 as Grant).consecutiveFailures = 99;
      }).toThrow(TypeError);
      expect(store.get().grants.g1!.consecutiveFailures).toBe(0);
    });

    it('update() is visible to get() immediately, before it is written', async () => {
      const { store, backend } = await openStore({ coalesceMs: 10_000 });
      await store.update((d) => {
        d.grants.g1 = grant('g1');
      });
      expect(store.get().grants.g1?.id).toBe('g1');
      expect(backend.writes).toBeLessThanOrEqual(1);
    });
  });

  describe('writing', () => {
    it('coalesces a burst of 200 updates into a handful of writes, losing none', async () => {
      const { store, backend } = await openStore({ coalesceMs: 100 });
      for (let i = 0; i < 200; i++) {
        void store.update((d) => {
          d.grants[`g${i}`] = grant(`g${i}`);
        });
      }
      await store.flush();
      expect(backend.writes).toBeGreaterThanOrEqual(1);
      expect(backend.writes).toBeLessThanOrEqual(3);
      expect(Object.keys(onDisk(dir).grants)).toHaveLength(200);
    });

    it('keeps to about one write per coalescing window when updates trickle in', async () => {
      const { store, backend } = await openStore({ coalesceMs: 100 });
      const started = Date.now();
      for (let i = 0; i < 200; i++) {
        void store.update((d) => {
          d.grants[`g${i}`] = grant(`g${i}`);
        });
        await sleep(4);
      }
      await store.flush();
      const elapsed = Date.now() - started;
      // One write per 100 ms window at most (plus the first and the final flush).
      expect(backend.writes).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
      expect(backend.writes).toBeGreaterThanOrEqual(2);
      expect(Object.keys(onDisk(dir).grants)).toHaveLength(200);
    });

    it('durable updates resolve only once the change is on disk; plain ones do not wait', async () => {
      const { store } = await openStore({ coalesceMs: 300 });
      await store.update((d) => {
        d.grants.first = grant('first');
      }, { durable: true });
      expect(onDisk(dir).grants.first).toBeDefined();

      // Inside the coalescing window now: a plain update resolves before anything is written…
      await store.update((d) => {
        d.grants.plain = grant('plain');
      });
      expect(onDisk(dir).grants.plain).toBeUndefined();
      // …a durable one waits for the write that carries it.
      await store.update((d) => {
        d.grants.durable = grant('durable');
      }, { durable: true });
      const disk = onDisk(dir);
      expect(disk.grants.durable).toBeDefined();
      expect(disk.grants.plain).toBeDefined();
    });

    it('counts revisions in the file', async () => {
      const { store } = await openStore();
      await store.update((d) => void (d.settings.notifications = false), { durable: true });
      const r1 = onDisk(dir).revision;
      await store.update((d) => void (d.settings.notifications = true), { durable: true });
      expect(onDisk(dir).revision).toBe(r1 + 1);
    });

    it('a failed write (disk full) leaves the old file intact, rejects durable waiters and retries later', async () => {
      const { store, backend } = await openStore({ coalesceMs: 20 });
      await store.update((d) => {
        d.grants.kept = grant('kept');
      }, { durable: true });
      const before = fs.readFileSync(path.join(dir, 'relink.json'), 'utf8');
      const errors: Error[] = [];
      store.onError((e) => errors.push(e));

      backend.failNext = 1;
      await expect(
        store.update((d) => {
          d.grants.later = grant('later');
        }, { durable: true }),
      ).rejects.toThrow(/ENOSPC/);
      expect(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')).toBe(before);
      expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/ENOSPC/)]);
      // Still in memory, and written by the retry without anyone asking again.
      expect(store.get().grants.later).toBeDefined();
      for (let i = 0; i < 50 && !onDisk(dir).grants.later; i++) await sleep(20);
      expect(onDisk(dir).grants.later).toBeDefined();
      expect(store.stats.failedWrites).toBe(1);
    });

    it('is atomic: a reader in another process never sees a partial file while 150 writes happen', async () => {
      const { store } = await openStore({ coalesceMs: 0 });
      await store.update((d) => {
        d.grants.seed = grant('seed');
      }, { durable: true });
      const reader = path.join(dir, 'reader.mjs');
      fs.writeFileSync(
        reader,
        `import fs from 'node:fs';
const file = process.argv[2]; const until = Date.now() + Number(process.argv[3]);
let reads = 0, failures = 0; const revisions = new Set();
while (Date.now() < until) {
  try { const d = JSON.parse(fs.readFileSync(file, 'utf8')); revisions.add(d.revision); reads++; } catch { failures++; }
}
console.log(JSON.stringify({ reads, failures, revisions: revisions.size }));`,
      );
      const child = spawn(process.execPath, [reader, path.join(dir, 'relink.json'), '1500'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise((r) => child.on('exit', r));
      // Fat documents make a torn write likely to be seen if writes were not atomic.
      for (let i = 0; i < 150; i++) {
        await store.update((d) => {
          d.grants[`g${i}`] = grant(`g${i}`, { scopes: Array.from({ length: 50 }, (_, k) => `scope.${i}.${k}`) });
        }, { durable: true });
      }
      await exited;
      const stats = JSON.parse(out) as { reads: number; failures: number; revisions: number };
      expect(stats.failures).toBe(0);
      expect(stats.reads).toBeGreaterThan(50);
      expect(stats.revisions).toBeGreaterThan(1);
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    });

    it('takes the cross-process lock for every write and never holds it twice', async () => {
      let held = 0;
      let maxHeld = 0;
      let acquisitions = 0;
      const inner = createFileLock({ staleMs: 2_000 });
      lock = async (p) => {
        const release = await inner(p);
        acquisitions++;
        maxHeld = Math.max(maxHeld, ++held);
        return async () => {
          held--;
          await release();
        };
      };
      const { store, backend } = await openStore({ coalesceMs: 5 });
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store.update((d) => {
            d.grants[`g${i}`] = grant(`g${i}`);
          }, { durable: i % 3 === 0 }),
        ),
      );
      await store.flush();
      expect(maxHeld).toBe(1);
      expect(acquisitions).toBe(backend.writes + 1); // + open()
    });
  });

  describe('mutators', () => {
    it('a mutator that throws rejects its update and leaves the document as it was', async () => {
      const { store } = await openStore();
      await store.update((d) => {
        d.grants.g1 = grant('g1');
      });
      await expect(
        store.update((d) => {
          d.grants.g1!.consecutiveFailures = 5;
          throw new Error('half-way');
        }),
      ).rejects.toThrow('half-way');
      expect(store.get().grants.g1!.consecutiveFailures).toBe(0);
      await store.flush();
      expect(onDisk(dir).grants.g1!.consecutiveFailures).toBe(0);
    });

    it('an update that makes the document invalid is refused at write time; the rest of its batch is written', async () => {
      const { store } = await openStore({ coalesceMs: 50 });
      const good = store.update((d) => {
        d.grants.good = grant('good');
      }, { durable: true });
      const bad = store.update((d) => {
        d.grants.bad = { ...grant('bad'), consecutiveFailures: -1 };
      }, { durable: true });
      await expect(bad).rejects.toBeInstanceOf(InvalidMetadataError);
      await good;
      const disk = onDisk(dir);
      expect(disk.grants.good).toBeDefined();
      expect(disk.grants.bad).toBeUndefined();
      expect(store.get().grants.bad).toBeUndefined();
    });
  });

  describe('two processes on one data folder', () => {
    it('two stores updating different grants never lose each other\'s changes', async () => {
      const a = await openStore({ backend: new TestBackend(dir), coalesceMs: 10 });
      const b = await openStore({ backend: new TestBackend(dir), coalesceMs: 10 });
      await a.store.update((d) => {
        d.grants.a1 = grant('a1');
      }, { durable: true });
      await b.store.update((d) => {
        d.grants.b1 = grant('b1');
      }, { durable: true });
      await a.store.update((d) => {
        d.grants.a2 = grant('a2');
      }, { durable: true });
      expect(Object.keys(onDisk(dir).grants).sort()).toEqual(['a1', 'a2', 'b1']);
      // Each store adopted the other's changes when it re-read the file under the lock.
      expect(Object.keys(a.store.get().grants).sort()).toEqual(['a1', 'a2', 'b1']);
      expect(Object.keys(b.store.get().grants).sort()).toEqual(['a1', 'b1']);
      expect(a.store.stats.rebases).toBeGreaterThanOrEqual(1);
    });

    it('re-applies relative changes on the fresher document (both increments count)', async () => {
      const seed = await openStore();
      await seed.store.update((d) => {
        d.grants.g = grant('g');
      }, { durable: true });
      const a = await openStore({ backend: new TestBackend(dir) });
      const b = await openStore({ backend: new TestBackend(dir) });
      const bump = (d: MetadataDocument) => {
        const g = d.grants.g;
        if (g) g.consecutiveFailures += 1;
      };
      await Promise.all([a.store.update(bump, { durable: true }), b.store.update(bump, { durable: true })]);
      expect(onDisk(dir).grants.g!.consecutiveFailures).toBe(2);
    });

    it('a real second process (tsx child) and this one interleave 40 updates each without losing any', async () => {
      const script = path.join(dir, 'writer.mts');
      const mod = (p: string) => JSON.stringify(pathToFileURL(path.join(repo, p)).href);
      fs.writeFileSync(
        script,
        `import fs from 'node:fs';
import { SystemClock } from ${mod('main/core/clock.ts')};
import { ConfBackend } from ${mod('main/store/document-file.ts')};
import { createFileLock } from ${mod('main/store/file-lock.ts')};
import { MetadataStore } from ${mod('main/store/metadata-store.ts')};
const [dir, prefix, count] = process.argv.slice(2);
const store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock({ staleMs: 2000 }), { coalesceMs: 5 });
await store.open();
const at = '2026-03-01T09:00:00.000Z';
for (let i = 0; i < Number(count); i++) {
  const id = prefix + i;
  await store.update((d) => { d.grants[id] = { id, appId: 'app', staffId: 'staff', scopes: [], authEventIds: [], connectedAt: at,
    refreshTokenIssuedAt: at, lastRefreshAt: null, lastProbeAt: null, consecutiveFailures: 0, lastFailure: null, state: 'active',
    stateSince: at }; }, { durable: i % 4 === 0 });
  // After its first write, wait for the parent to be open too, so the two really interleave.
  for (let w = 0; i === 0 && w < 1000 && !fs.existsSync(dir + '/go'); w++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 5));
}
await store.close();
console.log('done');`,
      );
      const child = new Promise<string>((resolve, reject) =>
        // Node with tsx's loader (not the tsx CLI), so a timeout kills the writer itself, not just a wrapper.
        execFile(process.execPath, ['--import', 'tsx', script, dir, 'child-', '40'], { cwd: repo, timeout: 60_000 }, (e, out, err) =>
          e ? reject(new Error(err || e.message)) : resolve(out),
        ),
      );
      // Start writing only once the child is writing, so the two really interleave.
      for (let i = 0; i < 500 && !fs.existsSync(path.join(dir, 'relink.json')); i++) await sleep(20);
      const { store } = await openStore({ coalesceMs: 5 });
      fs.writeFileSync(path.join(dir, 'go'), '');
      for (let i = 0; i < 40; i++) {
        await store.update((d) => {
          d.grants[`parent-${i}`] = grant(`parent-${i}`);
        }, { durable: i % 4 === 0 });
        await sleep(3);
      }
      await store.flush();
      expect((await child).trim()).toBe('done');
      // However the two were scheduled, the child has written since this process last did: this write must
      // re-read the child's changes under the lock and re-apply its own on top (a rebase), losing nothing.
      await store.update((d) => {
        d.grants['parent-last'] = grant('parent-last');
      }, { durable: true });
      const rebases = store.stats.rebases;
      await store.close();
      const ids = Object.keys(onDisk(dir).grants);
      // This process re-read the child's writes under the lock and re-applied its own changes on top.
      expect(rebases).toBeGreaterThan(0);
      expect(ids.filter((id) => id.startsWith('child-'))).toHaveLength(40);
      expect(ids.filter((id) => id.startsWith('parent-'))).toHaveLength(41);
    });
  });

  describe('damage and versions', () => {
    async function seedGoodFile() {
      const { store } = await openStore();
      await store.update((d) => {
        d.grants.precious = grant('precious');
      }, { durable: true });
      await store.close();
      // The first write after opening also saved the last good copy.
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'relink.last-good.json'), 'utf8')).grants.precious).toBeDefined();
    }

    it('quarantines a corrupt file, restores the last good copy and reports it', async () => {
      await seedGoodFile();
      fs.writeFileSync(path.join(dir, 'relink.json'), '{"schemaVersion":1,"grants":{"prec');
      const events: RecoveryEvent[] = [];
      const backend = new TestBackend(dir);
      const store = new MetadataStore(backend, new SystemClock(), lock);
      stores.push(store);
      store.onRecovery((e) => events.push(e));
      const result = await store.open();

      expect(result.source).toBe('recovered');
      expect(result.recovery?.kind).toBe('restored-last-good');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'restored-last-good', severity: 'warning', path: path.join(dir, 'relink.json') });
      expect(events[0]!.message).toMatch(/damaged/);
      // The damaged file is kept, byte for byte, under a relink.corrupt.<date>.<time>.json name.
      expect(path.basename(events[0]!.quarantinedPath)).toMatch(/^relink\.corrupt\.\d{4}-\d\d-\d\d\.[\d-]+\.json$/);
      expect(fs.readFileSync(events[0]!.quarantinedPath, 'utf8')).toBe('{"schemaVersion":1,"grants":{"prec');
      // The restored data is in memory and on disk again.
      expect(store.get().grants.precious).toBeDefined();
      expect(onDisk(dir).grants.precious).toBeDefined();
    });

    it('treats valid JSON that fails the schema as damage too', async () => {
      await seedGoodFile();
      const doc = onDisk(dir);
      (doc.grants.precious as unknown as Record<string, unknown>).state = 'exploded';
      fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(doc));
      const { result, store } = await openStore();
      expect(result.recovery?.kind).toBe('restored-last-good');
      expect(result.recovery?.reason).toMatch(/grants\.precious\.state/);
      expect(store.get().grants.precious?.state).toBe('active');
    });

    it('with no usable last good copy, starts empty but keeps both damaged files and reports loudly', async () => {
      await seedGoodFile();
      fs.writeFileSync(path.join(dir, 'relink.json'), 'garbage');
      fs.writeFileSync(path.join(dir, 'relink.last-good.json'), 'more garbage');
      const events: RecoveryEvent[] = [];
      const store = new MetadataStore(new TestBackend(dir), new SystemClock(), lock);
      stores.push(store);
      store.onRecovery((e) => events.push(e));
      const result = await store.open();
      expect(result.recovery).toMatchObject({ kind: 'started-empty', severity: 'error' });
      expect(events).toHaveLength(1);
      expect(events[0]!.message).toMatch(/started with no organisations/);
      expect(fs.readFileSync(events[0]!.quarantinedPath, 'utf8')).toBe('garbage');
      expect(fs.readFileSync(events[0]!.lastGoodQuarantinedPath!, 'utf8')).toBe('more garbage');
      expect(store.get()).toEqual(emptyMetadata());
    });

    it('does not "migrate" an unrecognisable object into an empty world: it is quarantined and reported', async () => {
      fs.writeFileSync(path.join(dir, 'relink.json'), '{"hello":"world"}');
      const { result } = await openStore();
      expect(result.recovery?.kind).toBe('started-empty');
      expect(fs.readFileSync(result.recovery!.quarantinedPath, 'utf8')).toBe('{"hello":"world"}');
    });

    it('rewrites a file damaged while running from the good copy in memory, and reports it', async () => {
      const { store } = await openStore({ coalesceMs: 10 });
      await store.update((d) => {
        d.grants.g1 = grant('g1');
      }, { durable: true });
      const events: RecoveryEvent[] = [];
      store.onRecovery((e) => events.push(e));
      fs.writeFileSync(path.join(dir, 'relink.json'), '{"trunc');
      await store.update((d) => {
        d.grants.g2 = grant('g2');
      }, { durable: true });
      expect(events.map((e) => e.kind)).toEqual(['rewrote-from-memory']);
      expect(fs.readFileSync(events[0]!.quarantinedPath, 'utf8')).toBe('{"trunc');
      expect(Object.keys(onDisk(dir).grants).sort()).toEqual(['g1', 'g2']);
    });

    it('refuses a file from a newer schema version and never overwrites it', async () => {
      const future = JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, revision: 7, somethingNew: { a: 1 } });
      fs.writeFileSync(path.join(dir, 'relink.json'), future);
      const store = new MetadataStore(new TestBackend(dir), new SystemClock(), lock);
      const error = await store.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NewerSchemaError);
      expect((error as Error).message).toMatch(new RegExp(`newer version of Relink.*schema ${SCHEMA_VERSION + 1}.*did not change the file`));
      expect(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')).toBe(future);
      expect(fs.readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
    });

    it('stops writing (and keeps the file) when a newer Relink rewrote it while we were running', async () => {
      const { store, backend } = await openStore({ coalesceMs: 10 });
      await store.update((d) => {
        d.grants.g1 = grant('g1');
      }, { durable: true });
      const future = JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1, revision: 99 });
      fs.writeFileSync(path.join(dir, 'relink.json'), future);
      const writes = backend.writes;
      await expect(
        store.update((d) => {
          d.grants.g2 = grant('g2');
        }, { durable: true }),
      ).rejects.toBeInstanceOf(NewerSchemaError);
      await expect(store.update(() => undefined)).rejects.toBeInstanceOf(NewerSchemaError);
      await sleep(100);
      expect(backend.writes).toBe(writes);
      expect(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')).toBe(future);
    });

    it('migrates a v0 document (arrays, no schemaVersion) to the current version and writes it with the next update', async () => {
      const v0 = {
        apps: [],
        staff: [{ id: 'staff-jane', email: 'jane@harbourfinch.example', name: 'Jane Doe', status: 'active', firstSeenAt: AT }],
        organisations: [{ tenantId: 't-1', name: 'Acme Ltd', tenantType: 'ORGANISATION', firstSeenAt: AT }],
        grants: [grant('g1')],
        connections: [],
        settings: { probeIntervalMinutes: 30 },
      };
      fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(v0));
      const { store, result } = await openStore();
      expect(result).toMatchObject({ source: 'file', fromVersion: 0, recovery: null });
      const doc = store.get();
      expect(doc.schemaVersion).toBe(SCHEMA_VERSION);
      expect(doc.staff['staff-jane']?.name).toBe('Jane Doe');
      expect(doc.organisations['t-1']?.name).toBe('Acme Ltd');
      expect(doc.grants.g1?.id).toBe('g1');
      expect(doc.incidents).toEqual({});
      expect(doc.settings).toMatchObject({ probeIntervalMinutes: 30, keepAliveHours: 24 });

      await store.update((d) => void (d.settings.notifications = false), { durable: true });
      const disk = onDisk(dir);
      expect(disk.schemaVersion).toBe(SCHEMA_VERSION);
      expect(disk.organisations['t-1']?.name).toBe('Acme Ltd');
    });

    it('also migrates a document that says schemaVersion 0', async () => {
      fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify({ schemaVersion: 0, apps: [], grants: [grant('g9')] }));
      const { store, result } = await openStore();
      expect(result.fromVersion).toBe(0);
      expect(store.get().grants.g9).toBeDefined();
    });

    it('refreshes the last good copy at most once per interval after ordinary writes', async () => {
      const { store } = await openStore({ coalesceMs: 0, lastGoodIntervalMs: 60_000 });
      await store.update((d) => {
        d.grants.first = grant('first');
      });
      await store.flush();
      await store.update((d) => {
        d.grants.second = grant('second');
      });
      await store.flush();
      const lastGood = JSON.parse(fs.readFileSync(path.join(dir, 'relink.last-good.json'), 'utf8')) as MetadataDocument;
      expect(Object.keys(lastGood.grants)).toEqual(['first']);
      // Closing a store that wrote brings it level with the file (opening never writes it).
      await store.close();
      await openStore();
      const reloaded = JSON.parse(fs.readFileSync(path.join(dir, 'relink.last-good.json'), 'utf8')) as MetadataDocument;
      expect(Object.keys(reloaded.grants).sort()).toEqual(['first', 'second']);
    });

    it('refreshes the last good copy after every durable change (a new grant must survive a restore)', async () => {
      const { store } = await openStore({ coalesceMs: 0, lastGoodIntervalMs: 60_000 });
      await store.update((d) => {
        d.grants.first = grant('first');
      }, { durable: true });
      await store.update((d) => {
        d.grants.second = grant('second');
      }, { durable: true });
      const lastGood = JSON.parse(fs.readFileSync(path.join(dir, 'relink.last-good.json'), 'utf8')) as MetadataDocument;
      expect(Object.keys(lastGood.grants).sort()).toEqual(['first', 'second']);
      await store.close();
    });
  });

  describe('lifecycle', () => {
    it('close() writes what is queued and refuses later updates', async () => {
      const { store } = await openStore({ coalesceMs: 60_000 });
      void store.update((d) => {
        d.grants.g1 = grant('g1');
      });
      await store.close();
      expect(onDisk(dir).grants.g1).toBeDefined();
      await expect(store.update(() => undefined)).rejects.toThrow(/closed/);
    });

    it('refuses to be used before open()', () => {
      const store = new MetadataStore(new TestBackend(dir), new SystemClock(), lock);
      expect(() => store.get()).toThrow(/open\(\)/);
    });
  });
});
