import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { ConfBackend, DiskFullError, UnverifiedWriteError, writeVerified, type WriteFs } from '../../../main/store/document-file.js';
import { createFileLock } from '../../../main/store/file-lock.js';
import { MetadataStore, type RecoveryEvent } from '../../../main/store/metadata-store.js';
import { emptyMetadata, validateMetadata, type MetadataDocument } from '../../../main/store/schema.js';
import { NEEDS_TMPFS, TMPFS_UNAVAILABLE, fillLeaving, mountTmpfs, unmountTmpfs } from '../../support/tmpfs.js';
import { grantRecord } from '../../support/grant-record.js';

/**
 * Writing relink.json when the disk is (nearly) full. A write may accept fewer bytes than it was given without
 * any error — a nearly full disk does exactly that — and `atomically` (conf's writer) then renamed the partial
 * file over the good one. Here: the verified write with a simulated disk (an injected fs that writes short,
 * lies or fails), then the real thing on a small tmpfs.
 */

const DISK_FULL = 'The disk is full: nothing was changed. Free some space and try again. (ENOSPC)';

const grant = grantRecord;

/** A valid document with `n` grants (about 370 bytes each: 30 grants make 11 KB). */
function docWith(n: number, revision = 1): MetadataDocument {
  const doc = emptyMetadata();
  doc.revision = revision;
  for (let i = 0; i < n; i++) doc.grants[`g-${i}`] = grant(`g-${i}`);
  return validateMetadata(doc);
}

const errno = (code: string) => Object.assign(new Error(`${code}: simulated`), { code });
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}
const temps = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

/** node:fs with some calls replaced, and every call named in `calls` (with the file, where it has one). */
function fakeFs(overrides: Partial<WriteFs>, calls: string[] = []): WriteFs {
  const real: WriteFs = fs;
  const wrap =
    <K extends keyof WriteFs>(name: K) =>
    (...args: unknown[]) => {
      calls.push(typeof args[0] === 'string' ? `${name} ${path.basename(args[0])}` : name);
      return ((overrides[name] ?? real[name]) as (...a: unknown[]) => unknown)(...args);
    };
  const names: Array<keyof WriteFs> = ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'readFileSync', 'renameSync', 'unlinkSync'];
  return Object.fromEntries(names.map((n) => [n, wrap(n)])) as unknown as WriteFs;
}

describe('writeVerified: every byte, checked, before the rename', () => {
  let dir: string;
  let target: string;
  const OLD = '{"old":"and complete"}';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-verified-'));
    target = path.join(dir, 'relink.json');
    fs.writeFileSync(target, OLD);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('carries on after short writes until every byte is written (a nearly full disk accepts part of a write)', () => {
    const text = JSON.stringify(docWith(20));
    let calls = 0;
    const shortFs = fakeFs({
      writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
        calls++;
        return fs.writeSync(fd, buf, off, Math.min(len, 1000), pos);
      }) as WriteFs['writeSync'],
    });
    writeVerified(target, text, shortFs);
    expect(fs.readFileSync(target, 'utf8')).toBe(text);
    expect(calls).toBe(Math.ceil(Buffer.byteLength(text) / 1000));
    expect(temps(dir)).toEqual([]);
  });

  it('syncs, reads back and compares before the rename, and renames last', () => {
    const calls: string[] = [];
    writeVerified(target, '{"new":true}', fakeFs({}, calls));
    const temp = calls[0]!.split(' ')[1]!;
    expect(temp).toMatch(/^relink\.json\.tmp-\d{10}[0-9a-f]{6}$/);
    expect(calls).toEqual(['openSync ' + temp, 'writeSync', 'fsyncSync', 'closeSync', 'readFileSync ' + temp, 'renameSync ' + temp]);
    expect(fs.readFileSync(target, 'utf8')).toBe('{"new":true}');
    expect(fs.statSync(target).mode & 0o777).toBe(process.platform === 'win32' ? fs.statSync(target).mode & 0o777 : 0o600);
  });

  it('a disk that says it wrote everything but kept less: refused before the rename, old file untouched, temp removed', () => {
    const lying = fakeFs({
      writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
        fs.writeSync(fd, buf, off, Math.floor(len / 2), pos);
        return len;
      }) as WriteFs['writeSync'],
    });
    expect(thrownBy(() => writeVerified(target, JSON.stringify(docWith(5)), lying))).toMatchObject({
      name: 'UnverifiedWriteError',
      message: expect.stringMatching(/^Relink could not save its data safely \(the new file has \d+ bytes instead of \d+\), so the previous file was kept\. .*\(EIO\)$/),
    });
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it('a disk that kept the right number of bytes but not the right ones: refused too', () => {
    const flipping = fakeFs({
      writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
        const copy = Buffer.from(buf.subarray(off, off + len));
        copy[0] = 0;
        return fs.writeSync(fd, copy, 0, len, pos);
      }) as WriteFs['writeSync'],
    });
    expect(() => writeVerified(target, '{"new":true}', flipping)).toThrow(/does not hold what was written.*\(EIO\)/);
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
  });

  it('a write that accepts nothing at all is an error, not an endless loop', () => {
    const stuck = fakeFs({ writeSync: (() => 0) as WriteFs['writeSync'] });
    expect(thrownBy(() => writeVerified(target, '{"new":true}', stuck))).toBeInstanceOf(UnverifiedWriteError);
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it.each(['ENOSPC', 'EDQUOT', 'EFBIG'])('%s part-way through becomes DiskFullError, with the old file untouched and the temp removed', (code) => {
    let n = 0;
    const filling = fakeFs({
      writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
        if (n++ > 0) throw errno(code);
        return fs.writeSync(fd, buf, off, Math.min(len, 4096), pos);
      }) as WriteFs['writeSync'],
    });
    let thrown: unknown;
    try {
      writeVerified(target, JSON.stringify(docWith(30)), filling);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DiskFullError);
    expect((thrown as DiskFullError).code).toBe(code);
    expect((thrown as Error).message).toBe(`The disk is full: nothing was changed. Free some space and try again. (${code})`);
    expect(((thrown as Error).cause as NodeJS.ErrnoException).code).toBe(code);
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it('ENOSPC from fsync (delayed allocation) is caught the same way', () => {
    const lateFull = fakeFs({
      fsyncSync: () => {
        throw errno('ENOSPC');
      },
    });
    expect(() => writeVerified(target, '{"new":true}', lateFull)).toThrow(DISK_FULL);
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it('any other failure (EIO) is thrown as it is, with the old file untouched', () => {
    const broken = fakeFs({
      fsyncSync: () => {
        throw errno('EIO');
      },
    });
    expect(() => writeVerified(target, '{"new":true}', broken)).toThrow(/^EIO: simulated$/);
    expect(fs.readFileSync(target, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it('a rename refused for a moment (Windows antivirus: EPERM) is tried again', () => {
    let refusals = 2;
    const busy = fakeFs({
      renameSync: ((from: string, to: string) => {
        if (refusals-- > 0) throw errno('EPERM');
        fs.renameSync(from, to);
      }) as WriteFs['renameSync'],
    });
    writeVerified(target, '{"new":true}', busy);
    expect(fs.readFileSync(target, 'utf8')).toBe('{"new":true}');
  });
});

describe('ConfBackend writes through the verified write', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-backend-full-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a short write no longer replaces relink.json or its last good copy with part of the document', () => {
    const good = new ConfBackend(dir);
    good.write(docWith(3));
    good.lastGood.write(docWith(3));
    const before = fs.readFileSync(good.path, 'utf8');
    // The first write call accepts 4 KB, the next one finds the disk full: what a nearly full disk does.
    let n = 0;
    const backend = new ConfBackend(dir, {
      fs: fakeFs({
        writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
          if (n++ % 2 === 1) throw errno('ENOSPC');
          return fs.writeSync(fd, buf, off, Math.min(len, 4096), pos);
        }) as WriteFs['writeSync'],
      }),
    });
    expect(() => backend.write(docWith(40, 2))).toThrow(DiskFullError);
    expect(() => backend.lastGood.write(docWith(40, 2))).toThrow(DiskFullError);
    expect(fs.readFileSync(backend.path, 'utf8')).toBe(before);
    expect(fs.readFileSync(backend.lastGood.path, 'utf8')).toBe(before);
    expect(temps(dir)).toEqual([]);
  });

  it.skipIf(process.platform === 'win32')('writes through a symlinked relink.json to the file it points at, keeping the link', () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-linked-'));
    try {
      fs.writeFileSync(path.join(elsewhere, 'real.json'), '{}');
      fs.symlinkSync(path.join(elsewhere, 'real.json'), path.join(dir, 'relink.json'));
      const backend = new ConfBackend(dir);
      backend.write({ linked: true });
      expect(fs.lstatSync(backend.path).isSymbolicLink()).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(elsewhere, 'real.json'), 'utf8'))).toEqual({ linked: true });
      expect(backend.read()).toEqual({ linked: true });
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('MetadataStore and the last good copy', () => {
  let dir: string;
  const stores: MetadataStore[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-lastgood-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const open = async (backend = new ConfBackend(dir)) => {
    const store = new MetadataStore(backend, new SystemClock(), createFileLock({ staleMs: 2_000 }), { coalesceMs: 10 });
    stores.push(store);
    const result = await store.open();
    return { store, result };
  };
  const lastGoodPath = () => path.join(dir, 'relink.last-good.json');

  it('opening (a read-only command) writes nothing, not even the last good copy', async () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(docWith(2)));
    const { store, result } = await open();
    expect(result.source).toBe('file');
    await store.close();
    expect(fs.existsSync(lastGoodPath())).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['relink.json']);
  });

  it('a process that wrote leaves the last good copy equal to what it wrote when it closes', async () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(docWith(2)));
    const store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock({ staleMs: 2_000 }), { coalesceMs: 0, lastGoodIntervalMs: 60_000 });
    await store.open();
    await store.update((d) => void (d.grants.a = grant('a')));
    await store.flush();
    await store.update((d) => void (d.grants.b = grant('b')));
    await store.flush();
    // Within the interval only the first write refreshed the copy…
    expect(Object.keys(JSON.parse(fs.readFileSync(lastGoodPath(), 'utf8')).grants)).not.toContain('b');
    await store.close();
    // …and closing brings it level with the file.
    expect(fs.readFileSync(lastGoodPath(), 'utf8')).toBe(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8'));
  });

  it('a failed write never touches the last good copy, and a durable change says the disk is full', async () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(docWith(2)));
    let full = false;
    const backend = new ConfBackend(dir, {
      fs: fakeFs({
        writeSync: ((fd: number, buf: Buffer, off: number, len: number, pos: number) => {
          if (full) throw errno('ENOSPC');
          return fs.writeSync(fd, buf, off, len, pos);
        }) as WriteFs['writeSync'],
      }),
    });
    const { store } = await open(backend);
    await store.update((d) => void (d.grants.a = grant('a')), { durable: true });
    const main = fs.readFileSync(path.join(dir, 'relink.json'), 'utf8');
    const lastGood = fs.readFileSync(lastGoodPath(), 'utf8');
    expect(lastGood).toBe(main);

    full = true;
    await expect(store.update((d) => void (d.grants.b = grant('b')), { durable: true })).rejects.toThrow(DISK_FULL);
    await expect(store.close()).rejects.toBeInstanceOf(DiskFullError);
    expect(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')).toBe(main);
    expect(fs.readFileSync(lastGoodPath(), 'utf8')).toBe(lastGood);
    expect(temps(dir)).toEqual([]);
  });

  it('relink.json missing but its last good copy is fine: the copy is used, in memory, and nothing is written', async () => {
    fs.writeFileSync(lastGoodPath(), JSON.stringify(docWith(3, 9)));
    const events: RecoveryEvent[] = [];
    const store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock({ staleMs: 2_000 }), { coalesceMs: 10 });
    stores.push(store);
    store.onRecovery((e) => events.push(e));
    const result = await store.open();
    expect(result.source).toBe('recovered');
    expect(result.recovery).toMatchObject({ kind: 'restored-last-good', reason: 'the data file is missing', severity: 'warning' });
    expect(events).toHaveLength(1);
    expect(Object.keys(store.get().grants)).toEqual(['g-0', 'g-1', 'g-2']);
    expect(fs.existsSync(path.join(dir, 'relink.json'))).toBe(false);
    // The next change writes the whole document.
    await store.update((d) => void (d.grants.more = grant('more')), { durable: true });
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')) as MetadataDocument;
    expect(Object.keys(onDisk.grants).sort()).toEqual(['g-0', 'g-1', 'g-2', 'more']);
    expect(onDisk.revision).toBe(10);
  });

  it('a damaged relink.json on a full disk: the start still succeeds from the last good copy, and so does the next one', async () => {
    fs.writeFileSync(lastGoodPath(), JSON.stringify(docWith(3, 9)));
    fs.writeFileSync(path.join(dir, 'relink.json'), '{"schemaVersion":2,"grants":{"g-');
    const fullDisk = fakeFs({ writeSync: (() => { throw errno('ENOSPC'); }) as WriteFs['writeSync'] });
    const errors: Error[] = [];
    const store = new MetadataStore(new ConfBackend(dir, { fs: fullDisk }), new SystemClock(), createFileLock({ staleMs: 2_000 }));
    store.onError((e) => errors.push(e));
    const result = await store.open();
    expect(result.recovery?.kind).toBe('restored-last-good');
    expect(Object.keys(store.get().grants)).toHaveLength(3);
    expect(errors.map((e) => e.message)).toEqual([DISK_FULL]);
    await store.close();
    // The damaged file is kept aside; the last good copy is untouched and found again by the next start.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('relink.corrupt.'))).toHaveLength(1);
    const { store: next, result: again } = await open();
    expect(again.recovery).toMatchObject({ kind: 'restored-last-good', reason: 'the data file is missing' });
    expect(Object.keys(next.get().grants)).toHaveLength(3);
  });
});

describe.skipIf(TMPFS_UNAVAILABLE !== null)(`on a real nearly full disk (a 64 KB tmpfs)${NEEDS_TMPFS}`, () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-tmpfs-'));
    mountTmpfs(dir, 64 * 1024);
  });
  afterEach(() => {
    unmountTmpfs(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([4096, 8192])('with %i bytes free, an 11 KB document is refused and both files stay complete', async (leave) => {
    const backend = new ConfBackend(dir);
    backend.write(docWith(30, 1));
    backend.lastGood.write(docWith(30, 1));
    const main = fs.readFileSync(backend.path);
    const lastGood = fs.readFileSync(backend.lastGood.path);
    fillLeaving(dir, leave);

    expect(() => backend.write(docWith(31, 2))).toThrow(DISK_FULL);
    expect(fs.readFileSync(backend.path).equals(main)).toBe(true);
    expect(temps(dir)).toEqual([]);

    // Through the store: a durable change is refused, an open and a close write nothing.
    const store = new MetadataStore(backend, new SystemClock(), createFileLock({ staleMs: 2_000 }), { coalesceMs: 10 });
    await store.open();
    await expect(store.update((d) => void (d.grants.late = grant('late')), { durable: true })).rejects.toThrow(DISK_FULL);
    await expect(store.close()).rejects.toThrow(DISK_FULL);
    expect(fs.readFileSync(backend.path).equals(main)).toBe(true);
    expect(fs.readFileSync(backend.lastGood.path).equals(lastGood)).toBe(true);
    expect(temps(dir)).toEqual([]);
    expect(validateMetadata(JSON.parse(main.toString('utf8'))).revision).toBe(1);
  });
});
