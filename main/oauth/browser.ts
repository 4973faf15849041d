import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Opens the authorize URL in the user's own browser (RFC 8252 §8.12: never an embedded window). The adapter
 * that owns `child_process`. Nothing is ever run through a shell: the program and its arguments are passed
 * to the OS as an argument vector, and the URL is always exactly one argument.
 */

export type BrowserHow =
  | { kind: 'system' }
  /** A program the user configured, e.g. `firefox --private-window` or `"/opt/My Browser/browser" --new-tab`. */
  | { kind: 'command'; command: string }
  /** Headless use (CLI over SSH): show the URL to the person instead. */
  | { kind: 'none'; print: (url: string) => void };

export class BrowserOpenError extends Error {
  readonly reason: 'refused-url' | 'bad-command' | 'program-missing' | 'failed';
  /** What went wrong in a few words, without advice ("the program “firefox” was not found"). */
  readonly detail: string;
  constructor(reason: BrowserOpenError['reason'], message: string, detail: string = message) {
    super(message);
    this.name = 'BrowserOpenError';
    this.reason = reason;
    this.detail = detail;
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Only `https:` URLs, or `http:` on the loopback interface (the sandbox), without credentials in them.
 * Returns the normalised URL (which never contains a space or a double quote).
 */
export function assertOpenableUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BrowserOpenError('refused-url', 'Relink will not open this address: it is not a valid URL.');
  }
  const ok = parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname));
  if (!ok) {
    throw new BrowserOpenError(
      'refused-url',
      `Relink will not open ${parsed.protocol}//${parsed.host || '(no host)'}: only https addresses (or http on this computer, for the sandbox) are allowed.`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new BrowserOpenError('refused-url', 'Relink will not open an address that carries a user name or password.');
  }
  return parsed.href;
}

/**
 * Splits a command line the way a POSIX shell would split words — single quotes, double quotes, backslash
 * escapes — without any expansion (no variables, globs, `~`, pipes or `;`: those are ordinary characters).
 * With `windows: true` a backslash is an ordinary character (paths like `C:\Program Files\…` must be quoted
 * when they contain spaces) and only double quotes group.
 */
export function splitCommand(command: string, opts: { windows?: boolean } = {}): string[] {
  const windows = opts.windows ?? process.platform === 'win32';
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && !windows && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) word += command[++i];
      else word += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"') quote = '"';
    else if (ch === "'" && !windows) quote = "'";
    else if (ch === '\\' && !windows) {
      if (i + 1 >= command.length) throw new BrowserOpenError('bad-command', 'The browser command ends with a lone backslash.');
      word += command[++i];
    } else word += ch;
  }
  if (quote) throw new BrowserOpenError('bad-command', `The browser command has an unclosed ${quote === '"' ? 'double' : 'single'} quote.`);
  if (inWord) words.push(word);
  if (words.length === 0 || !words[0]) throw new BrowserOpenError('bad-command', 'The browser command is empty.');
  return words;
}

/**
 * The platform's "open this URL with the default browser" program. On Windows this is
 * `rundll32 url.dll,FileProtocolHandler`, not `cmd /c start "" URL`: cmd.exe re-parses its command line, so the
 * `&` between query parameters would end the command there and run the rest as another command.
 */
export function systemOpener(platform: NodeJS.Platform = process.platform): { program: string; args: string[] } {
  switch (platform) {
    case 'darwin':
      return { program: 'open', args: [] };
    case 'win32':
      return { program: 'rundll32.exe', args: ['url.dll,FileProtocolHandler'] };
    default:
      return { program: 'xdg-open', args: [] };
  }
}

export interface OpenOptions {
  /**
   * How long to watch the launcher for an immediate failure (xdg-open exits 3 when it finds no browser) before
   * letting it run on unwatched. Default 1,500 ms. A launcher still running after that is treated as success.
   */
  settleMs?: number;
}

/** Opens `url` as `how` says. Rejects with a BrowserOpenError that says what went wrong. */
export async function openInBrowser(url: string, how: BrowserHow, opts: OpenOptions = {}): Promise<void> {
  await openChecked(assertOpenableUrl(url), how, opts);
}

/**
 * Opens a page Relink wrote on this computer (browser mode's launch page). Only `file:` URLs of an existing
 * regular file; `assertOpenableUrl` keeps refusing `file:` everywhere else (sign-in and help links).
 */
export async function openLocalPageInBrowser(fileUrl: string, how: BrowserHow, opts: OpenOptions = {}): Promise<void> {
  let file: string;
  try {
    file = fileURLToPath(fileUrl);
  } catch {
    throw new BrowserOpenError('refused-url', 'Relink will only open a page of its own on this computer here.');
  }
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
    throw new BrowserOpenError('refused-url', 'Relink will only open a page of its own on this computer here.');
  }
  await openChecked(pathToFileURL(file).href, how, opts);
}

/** Hands an address already checked by the caller to the configured browser (or prints it). */
async function openChecked(safe: string, how: BrowserHow, opts: OpenOptions): Promise<void> {
  if (how.kind === 'none') {
    how.print(safe);
    return;
  }
  const { program, args } = how.kind === 'system' ? systemOpener() : (() => {
    const [first, ...rest] = splitCommand(how.command);
    return { program: first!, args: rest };
  })();
  await launch(program, [...args, safe], opts.settleMs ?? 1_500);
}

function launch(program: string, args: string[], settleMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: BrowserOpenError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.unref();
      if (err) reject(err);
      else resolve();
    };
    const child = spawn(program, args, { detached: true, stdio: 'ignore', shell: false, windowsHide: true });
    const timer = setTimeout(() => finish(), settleMs);
    timer.unref();
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        const detail = `the program “${program}” was not found`;
        finish(new BrowserOpenError('program-missing', `Relink could not open the browser: ${detail}. Check the browser setting, or copy the address instead.`, detail));
      } else if (err.code === 'EACCES') {
        const detail = `the program “${program}” cannot be run (permission denied)`;
        finish(new BrowserOpenError('program-missing', `Relink could not open the browser: ${detail}.`, detail));
      } else {
        const detail = `“${program}” failed to start (${err.code ?? err.message})`;
        finish(new BrowserOpenError('failed', `Relink could not open the browser with “${program}”: ${err.code ?? err.message}.`, detail));
      }
    });
    child.once('exit', (code, signal) => {
      if (code === 0) finish();
      else {
        const detail = `“${program}” stopped with ${code !== null ? `exit status ${code}` : `signal ${signal}`}`;
        finish(new BrowserOpenError('failed', `Relink could not open the browser: ${detail}. Check the browser setting, or copy the address instead.`, detail));
      }
    });
  });
}
