import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../main/core/clock.js';
import { RefreshJournal, encodeGrantId } from '../../../main/store/refresh-journal.js';

const T0 = Date.parse('2026-03-01T09:00:00.000Z');
const clockAt = (ms: number): Clock => ({
  now: () => ms,
  monotonic: () => ms,
  setTimer: () => ({ id: 0 }),
  clearTimer: () => undefined,
});

describe('RefreshJournal', () => {
  let dir: string;
  let journal: RefreshJournal;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-journal-'));
    journal = new RefreshJournal(dir, clockAt(T0), 4242);
    await journal.init();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const journalDir = () => path.join(dir, 'refresh-journal');

  it('writes one small file per grant before the refresh and removes it after', async () => {
    const marker = await journal.begin('g1', 2);
    expect(marker).toEqual({ grantId: 'g1', startedAt: '2026-03-01T09:00:00.000Z', pid: 4242, attempt: 2 });
    const file = path.join(journalDir(), 'g1.json');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(marker);
    expect(fs.readdirSync(journalDir())).toEqual(['g1.json']); // no temp file left behind
    await journal.end('g1');
    expect(fs.existsSync(file)).toBe(false);
    await journal.end('g1'); // ending twice is harmless
  });

  it('a second begin for the same grant replaces the marker (retry attempt)', async () => {
    await journal.begin('g1', 1);
    await journal.begin('g1', 2);
    const { markers } = await journal.list();
    expect(markers).toHaveLength(1);
    expect(markers[0]!.attempt).toBe(2);
  });

  it('list() at start-up returns the markers a crashed process left behind', async () => {
    await journal.begin('g1');
    await journal.begin('g2');
    await journal.end('g1');
    // A new process (another pid, later) starts and looks.
    const next = new RefreshJournal(dir, clockAt(T0 + 60_000), 5151);
    await next.init();
    const { markers, damaged } = await next.list();
    expect(markers).toEqual([{ grantId: 'g2', startedAt: '2026-03-01T09:00:00.000Z', pid: 4242, attempt: 1 }]);
    expect(damaged).toEqual([]);
    await expect(next.read('g2')).resolves.toMatchObject({ grantId: 'g2' });
    await expect(next.read('g1')).resolves.toBeNull();
  });

  it('reports a damaged marker file instead of ignoring it (a refresh may have been in flight)', async () => {
    fs.writeFileSync(path.join(journalDir(), 'g9.json'), '{"grantId":"g9","star');
    fs.writeFileSync(path.join(journalDir(), 'g8.json'), JSON.stringify({ grantId: 'other', startedAt: '2026-03-01T09:00:00.000Z', pid: 1, attempt: 1 }));
    const { markers, damaged } = await journal.list();
    expect(markers).toEqual([]);
    expect(damaged.map((d) => [d.grantId, d.reason])).toEqual([
      ['g8', 'the marker names another grant'],
      ['g9', 'not valid JSON'],
    ]);
    expect(damaged[0]!.modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('interrupted() names every grant with a marker, damaged ones included (truncated, empty, garbage, wrong shape)', async () => {
    await journal.begin('intact');
    const write = (name: string, text: string) => fs.writeFileSync(path.join(journalDir(), `${name}.json`), text);
    write('truncated', '{"grantId":"truncated","startedAt":"2026-03-01T09:0');
    write('empty', ''); // a crash between creating the file and writing it
    write('garbage', '\u0000\u0000\u0000\u0000');
    write('shape', JSON.stringify({ grantId: 'shape', startedAt: 'yesterday', pid: -1, attempt: 0 }));
    await expect(journal.interrupted().then((ids) => ids.sort())).resolves.toEqual(['empty', 'garbage', 'intact', 'shape', 'truncated']);
    const { markers, damaged } = await journal.list();
    expect(markers.map((m) => m.grantId)).toEqual(['intact']);
    expect(damaged.map((d) => [d.grantId, d.reason])).toEqual([
      ['empty', 'not valid JSON'],
      ['garbage', 'not valid JSON'],
      ['shape', 'unexpected shape'],
      ['truncated', 'not valid JSON'],
    ]);
  });

  it('a marker that cannot be read at all counts as damaged, and does not stop list() or the grants after it', async () => {
    fs.mkdirSync(path.join(journalDir(), 'a-folder.json')); // EISDIR on read
    await journal.begin('z-intact');
    const { markers, damaged } = await journal.list();
    expect(markers.map((m) => m.grantId)).toEqual(['z-intact']);
    expect(damaged).toEqual([{ grantId: 'a-folder', path: path.join(journalDir(), 'a-folder.json'), modifiedAt: expect.any(String), reason: 'could not be read (EISDIR)' }]);
    await expect(journal.interrupted()).resolves.toEqual(['z-intact', 'a-folder']);
    await expect(journal.read('a-folder')).resolves.toMatchObject({ reason: 'could not be read (EISDIR)' });
  });

  it('cleans stale *.tmp files at start, keeps a fresh one of a live writer', async () => {
    const stale = path.join(journalDir(), `g1.json.${process.pid}-deadbeef.tmp`);
    const deadWriter = path.join(journalDir(), 'g2.json.999999999-cafebabe.tmp');
    const live = path.join(journalDir(), `g3.json.${process.pid}-0badf00d.tmp`);
    for (const f of [stale, deadWriter, live]) fs.writeFileSync(f, '{"half":');
    const old = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(stale, old, old);
    const next = new RefreshJournal(dir, clockAt(T0), 5151);
    await expect(next.init()).resolves.toEqual({ removedTemps: 2 });
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(deadWriter)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    // Temp files never show up as markers.
    expect((await next.list()).markers).toEqual([]);
  });

  it('maps any grant id to a safe, case-distinct file name and back', async () => {
    const ids = ['Grant/../x', 'g:with:colons', 'ABC', 'abc', 'ü-ñ', '.'];
    for (const id of ids) await journal.begin(id);
    const names = fs.readdirSync(journalDir());
    expect(names).toHaveLength(ids.length);
    for (const name of names) expect(name).toMatch(/^([a-z0-9_-]|%[0-9A-F]{2})+\.json$/);
    expect(encodeGrantId('ABC')).not.toBe(encodeGrantId('abc'));
    const { markers } = await journal.list();
    expect(markers.map((m) => m.grantId).sort()).toEqual([...ids].sort());
  });

  it('list() on a data folder without a journal yet is empty', async () => {
    const fresh = new RefreshJournal(path.join(dir, 'elsewhere'), clockAt(T0));
    await expect(fresh.list()).resolves.toEqual({ markers: [], damaged: [] });
  });
});
