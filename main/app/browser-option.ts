import { splitCommand, type BrowserHow } from '../oauth/browser.js';
import { UsageError } from './exit-codes.js';
import type { Io } from './process-io.js';

/**
 * `--browser CMD|none`, which the `relink` CLI and browser mode both take: the program that opens Xero's
 * sign-in pages, or `none` to print their addresses (a computer without a display). In main/app because both
 * hosts use it and hosts never import each other (test/build/layering.test.ts).
 */
export function browserFrom(spec: string | undefined, io: Pick<Io, 'err'>): BrowserHow {
  if (!spec) return { kind: 'system' };
  if (spec === 'none') {
    return { kind: 'none', print: (url) => io.err(`Open this address in a browser to approve the connection:\n${url}`) };
  }
  // A command that cannot be split (an unclosed quote) is the person's typing mistake: say so before anything starts.
  try {
    splitCommand(spec);
  } catch (err) {
    throw new UsageError(`--browser: ${(err as Error).message} Give a program and its arguments (--browser "firefox --new-window"), or --browser none to print the address.`);
  }
  return { kind: 'command', command: spec };
}
