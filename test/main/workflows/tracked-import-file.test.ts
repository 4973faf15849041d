import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_IMPORT_BYTES, readImportFile } from '../../../main/workflows/tracked-import.js';

/**
 * Reading the file `relink tracked import FILE` names: what it is and how big are checked before a byte is
 * read, and the read itself is bounded. `relink tracked import /dev/zero` once grew to 5.9 GB, and a named
 * pipe blocked for ever.
 */

const posix = process.platform !== 'win32';
const linux = process.platform === 'linux';

describe('readImportFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-importfile-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole', async () => {
    const f = path.join(dir, 'inventory.csv');
    fs.writeFileSync(f, 'organisation,app,authorised_by,reconnect_url,notes\n');
    expect(await readImportFile(f)).toEqual({ ok: true, bytes: fs.readFileSync(f) });
    fs.writeFileSync(f, '');
    expect(await readImportFile(f)).toEqual({ ok: true, bytes: Buffer.alloc(0) });
  });

  it('a missing file or a folder is a mistake in the command', async () => {
    expect(await readImportFile(path.join(dir, 'nope.csv'))).toEqual({ ok: false, usage: true, reason: `There is no file ${path.join(dir, 'nope.csv')}.` });
    expect(await readImportFile(dir)).toEqual({ ok: false, usage: true, reason: `${dir} is a folder, not a CSV file.` });
  });

  it.skipIf(!posix)('refuses a named pipe at once instead of waiting for a writer that never comes', async () => {
    const fifo = path.join(dir, 'inventory.csv');
    execFileSync('mkfifo', [fifo]);
    expect(await readImportFile(fifo)).toEqual({
      ok: false,
      usage: true,
      reason: `${fifo} is a named pipe, not a CSV file: save the CSV as a file and import that file.`,
    });
  });

  it.skipIf(!linux)('refuses a device (/dev/zero never ends, /dev/null is not a file either)', async () => {
    expect(await readImportFile('/dev/zero')).toMatchObject({ ok: false, usage: true, reason: '/dev/zero is a device, not a CSV file: save the CSV as a file and import that file.' });
    expect(await readImportFile('/dev/null')).toMatchObject({ ok: false, usage: true, reason: expect.stringMatching(/is a device/) });
  });

  it('refuses a file over the limit by its size, before reading it, and says how big it is', async () => {
    // A sparse 6 GB file: reading it would take minutes and 6 GB of memory; refusing it takes a stat.
    const huge = path.join(dir, 'huge.csv');
    fs.closeSync(fs.openSync(huge, 'w'));
    fs.truncateSync(huge, 6 * 1024 ** 3);
    expect(await readImportFile(huge)).toEqual({
      ok: false,
      usage: false,
      reason: 'The file is larger than 5 MB (it is 6.0 GB); split it into smaller files and import each.',
    });
    const over = path.join(dir, 'over.csv');
    fs.writeFileSync(over, Buffer.alloc(MAX_IMPORT_BYTES + 1, 0x61));
    expect(await readImportFile(over)).toMatchObject({ ok: false, usage: false, reason: expect.stringMatching(/larger than 5 MB \(it is 5\.0 MB\)/) });
    const at = path.join(dir, 'at.csv');
    fs.writeFileSync(at, Buffer.alloc(MAX_IMPORT_BYTES, 0x61));
    expect(await readImportFile(at)).toMatchObject({ ok: true });
  });

  it.skipIf(!linux)('stops one byte past the limit when a file holds more than its size said (it grew, or /proc)', async () => {
    // /proc files say they are empty and are not: the same as a file that grows after it was looked at.
    const proc = '/proc/self/status';
    expect(fs.statSync(proc).size).toBe(0);
    const content = fs.readFileSync(proc);
    expect(content.length).toBeGreaterThan(200);
    expect(await readImportFile(proc, 100)).toEqual({ ok: false, usage: false, reason: 'The file is larger than 100 bytes; split it into smaller files and import each.' });
    const whole = await readImportFile(proc);
    expect(whole.ok && whole.bytes.length).toBeGreaterThan(200);
  });
});
