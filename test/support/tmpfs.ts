import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small tmpfs for near-full-disk tests: a real file system that answers ENOSPC (and short writes) the way a
 * full laptop disk does, without filling the machine's disk. Mounting needs root on Linux (CI and the dev
 * container run as root); elsewhere the tests that need it are skipped, with the reason in their title
 * (test/support/summary.mjs lists skipped tests by title).
 */

function probe(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts are a Linux feature; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root (run the tests as root, as CI does)';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    const e = error as { stderr?: Buffer; message: string };
    return `mount -t tmpfs was refused here (${(e.stderr?.toString() || e.message).trim().split('\n')[0]})`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a tmpfs cannot be mounted here, or null when it can. */
export const TMPFS_UNAVAILABLE: string | null = probe();
/** Appended to the title of every test that needs a tmpfs. */
export const NEEDS_TMPFS = TMPFS_UNAVAILABLE ? ` [SKIPPED: ${TMPFS_UNAVAILABLE}]` : '';

/** Mounts a tmpfs of `sizeBytes` on `dir` (which must exist) readable by its owner only. */
export function mountTmpfs(dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
}

export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}

/** Bytes still free for an unprivileged writer. */
export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the file system holding `dir` so that exactly `leaveBytes` (a multiple of its block size) stay free.
 * Returns the filler's path: delete it to free the space again.
 */
export function fillLeaving(dir: string, leaveBytes: number): string {
  const filler = path.join(dir, 'filler.bin');
  const existing = fs.statSync(filler, { throwIfNoEntry: false })?.size ?? 0;
  const room = freeBytes(dir) + existing - leaveBytes;
  if (room < 0) throw new Error(`only ${freeBytes(dir)} bytes are free, fewer than the ${leaveBytes} asked to leave`);
  fs.writeFileSync(filler, Buffer.alloc(room));
  const left = freeBytes(dir);
  if (left !== leaveBytes) throw new Error(`filled the disk to leave ${leaveBytes} bytes but ${left} are free`);
  return filler;
}
