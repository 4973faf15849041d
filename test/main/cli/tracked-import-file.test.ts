import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedImportResultSchema } from '../../../shared/workflows.js';
import { Profile, stopLeftovers } from '../../support/relink-cli.js';

/**
 * `relink tracked import FILE` with something that is not a small regular file. Before, the CLI read the whole
 * thing first: /dev/zero grew it to 5.9 GB and a named pipe with no writer blocked it for ever. Each run here
 * is SIGKILLed after 20 s, which fails the test, so a hang cannot pass.
 */

describe.skipIf(process.platform !== 'linux')('relink tracked import: what it refuses to read', { timeout: 60_000 }, () => {
  let p: Profile;
  beforeAll(() => {
    p = new Profile('importfile');
  });
  afterAll(async () => {
    await stopLeftovers();
    await p.cleanup();
  });

  it('a named pipe: exit 2 at once, saying what it is', async () => {
    const fifo = path.join(p.dataDir, 'inventory.csv');
    execFileSync('mkfifo', [fifo]);
    const r = await p.run(['tracked', 'import', fifo], { timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a named pipe, not a CSV file: save the CSV as a file and import that file\\.`));
  });

  it('a device (/dev/zero): exit 2 at once, nothing read', async () => {
    const r = await p.run(['tracked', 'import', '/dev/zero'], { timeoutMs: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^\/dev\/zero is a device, not a CSV file/);
  });

  it('a 6 GB file: exit 1, "larger than 5 MB (it is 6.0 GB)", without reading it (human and --json)', async () => {
    const huge = path.join(p.dataDir, 'huge.csv');
    fs.closeSync(fs.openSync(huge, 'w'));
    fs.truncateSync(huge, 6 * 1024 ** 3); // sparse: no disk used
    const human = await p.run(['tracked', 'import', huge], { timeoutMs: 20_000 });
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^Nothing was imported\. The file is larger than 5 MB \(it is 6\.0 GB\); split it into smaller files and import each\./);
    const json = await p.run(['tracked', 'import', huge, '--json'], { timeoutMs: 20_000 });
    expect(json.code).toBe(1);
    expect(trackedImportResultSchema.parse(JSON.parse(json.stdout))).toMatchObject({ committed: false, fileError: expect.stringMatching(/larger than 5 MB/) });
  });
});
