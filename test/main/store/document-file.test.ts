import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfBackend, CorruptFile } from '../../../main/store/document-file.js';

describe('ConfBackend (conf 16 as the file engine)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-docfile-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads undefined when there is no file, and does not create one by reading', () => {
    const backend = new ConfBackend(dir);
    expect(backend.path).toBe(path.join(dir, 'relink.json'));
    expect(backend.read()).toBeUndefined();
    expect(fs.existsSync(backend.path)).toBe(false);
    expect(backend.fingerprint()).toBeNull();
  });

  it('writes and reads back a document as a plain object', () => {
    const backend = new ConfBackend(dir);
    backend.write({ schemaVersion: 1, nested: { a: [1, 2] } });
    const read = backend.read() as Record<string, unknown>;
    expect(read).toEqual({ schemaVersion: 1, nested: { a: [1, 2] } });
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(JSON.parse(fs.readFileSync(backend.path, 'utf8'))).toEqual({ schemaVersion: 1, nested: { a: [1, 2] } });
  });

  it('reports a file that is not JSON as CorruptFile (conf throws SyntaxError with clearInvalidConfig: false)', () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), '{"schemaVersion": 1, "apps": {');
    const backend = new ConfBackend(dir);
    const read = backend.read();
    expect(read).toBeInstanceOf(CorruptFile);
    expect((read as CorruptFile).reason).toBe('the file is not valid JSON');
    // conf did not clear or rewrite it.
    expect(fs.readFileSync(backend.path, 'utf8')).toBe('{"schemaVersion": 1, "apps": {');
  });

  it('notices corruption that happens after the engine was created', () => {
    const backend = new ConfBackend(dir);
    backend.write({ a: 1 });
    fs.writeFileSync(backend.path, '\0\0\0\0');
    expect(backend.read()).toBeInstanceOf(CorruptFile);
  });

  it('an empty file is corrupt, a JSON array reads as an empty object (conf) — never as "no file"', () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), '');
    expect(new ConfBackend(dir).read()).toBeInstanceOf(CorruptFile);
    fs.writeFileSync(path.join(dir, 'relink.json'), '[1,2,3]');
    expect(new ConfBackend(dir).read()).toEqual({});
  });

  it('sees writes made by another instance (no caching)', () => {
    const a = new ConfBackend(dir);
    const b = new ConfBackend(dir);
    a.write({ n: 1 });
    expect(b.read()).toEqual({ n: 1 });
    b.write({ n: 2 });
    expect(a.read()).toEqual({ n: 2 });
  });

  it('changes its fingerprint on every write (atomic rename gives a new inode)', () => {
    const backend = new ConfBackend(dir);
    backend.write({ n: 1 });
    const first = backend.fingerprint();
    backend.write({ n: 1 });
    expect(backend.fingerprint()).not.toBe(first);
  });

  it('moves a file aside without ever overwriting an earlier quarantined file', () => {
    const backend = new ConfBackend(dir);
    fs.writeFileSync(backend.path, 'first bad');
    const p1 = backend.moveAside('relink.corrupt-x.json');
    fs.writeFileSync(backend.path, 'second bad');
    const p2 = backend.moveAside('relink.corrupt-x.json');
    expect(p1).toBe(path.join(dir, 'relink.corrupt-x.json'));
    expect(p2).toBe(path.join(dir, 'relink.corrupt-x-2.json'));
    expect(fs.readFileSync(p1!, 'utf8')).toBe('first bad');
    expect(fs.readFileSync(p2!, 'utf8')).toBe('second bad');
    expect(backend.moveAside('relink.corrupt-y.json')).toBeNull();
  });

  it('keeps its last-good copy in relink.last-good.json', () => {
    const backend = new ConfBackend(dir);
    backend.lastGood.write({ good: true });
    expect(backend.lastGood.path).toBe(path.join(dir, 'relink.last-good.json'));
    expect(new ConfBackend(dir).lastGood.read()).toEqual({ good: true });
  });

  it('removes stale temporary files left by a crashed write, keeps fresh ones', () => {
    const stale = path.join(dir, 'relink.json.tmp-1700000000abcdef');
    const fresh = path.join(dir, 'relink.json.tmp-1700000001abcdef');
    fs.writeFileSync(stale, '{"half":');
    fs.writeFileSync(fresh, '{"half":');
    const old = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(stale, old, old);
    new ConfBackend(dir);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });
});

describe('file permissions', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-mode-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const mode = (p: string) => fs.statSync(p).mode & 0o777;
  const posix = process.platform !== 'win32';

  it.skipIf(!posix)('writes the metadata file readable by its owner only (0600)', () => {
    const backend = new ConfBackend(root);
    backend.write({ schemaVersion: 1 });
    expect(mode(backend.path)).toBe(0o600);
    backend.lastGood.write({ schemaVersion: 1 });
    expect(mode(backend.lastGood.path)).toBe(0o600);
  });

  it.skipIf(!posix)('creates the data folder, and any missing folder above it, for its owner only (0700)', () => {
    const previous = process.umask(0o022);
    try {
      const dataDir = path.join(root, 'share', 'relink');
      new ConfBackend(dataDir);
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(path.join(root, 'share'))).toBe(0o700);
      // The demo profile is a data folder of its own, inside the first.
      new ConfBackend(path.join(dataDir, 'demo'));
      expect(mode(path.join(dataDir, 'demo'))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it.skipIf(!posix)('tightens a data folder an earlier Relink created 0755, once it holds Relink\'s metadata', () => {
    const dataDir = path.join(root, 'relink');
    fs.mkdirSync(dataDir, { mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, 'relink.json'), '{}', { mode: 0o600 });
    new ConfBackend(dataDir);
    expect(mode(dataDir)).toBe(0o700);
  });

  it.skipIf(!posix)('leaves alone an existing folder that is not (yet) a Relink data folder', () => {
    const shared = path.join(root, 'somewhere');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o755);
    new ConfBackend(shared);
    expect(mode(shared)).toBe(0o755);
  });
});
