import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private GNOME Keyring on a private D-Bus session bus, which a test may lock, unlock and kill without
 * disturbing the keyring every other test file shares (`.ci/with-keyring.sh` runs the whole suite against one
 * login keyring; locking or killing that one would fail whatever else is running in parallel).
 *
 * Relink itself runs in child processes given `keyring.env` (the bus address and XDG folders): libdbus reads
 * the session bus address once per process, so the test process cannot switch buses for itself.
 *
 * - lock: `org.freedesktop.Secret.Service.Lock` on the login collection (what a screen locker does);
 * - unlock: gnome-keyring's own `UnlockWithMasterPassword` with the login password over one D-Bus connection
 *   (the password travels in a "plain" Secret Service session, which must belong to the caller's connection,
 *   so it cannot be done with one-shot `dbus-send`/`gdbus` calls). Headless there is no unlock prompt, and
 *   `gnome-keyring-daemon --unlock` through the control socket does not unlock a collection that was locked
 *   over D-Bus (tried with gnome-keyring 42.1: it answers OK and the collection stays locked);
 * - kill: SIGKILL of whichever process owns `org.freedesktop.secrets` on this bus (the daemon this helper
 *   started, or one D-Bus activated since), by its pid as the bus reports it.
 */

export const KEYRING_PASSWORD = 'relink-ci-throwaway';
const LOGIN = '/org/freedesktop/secrets/collection/login';

const which = (tool: string) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, tool)));
/** Whether a private keyring can be started here (Linux with dbus-daemon, dbus-send and gnome-keyring-daemon). */
export const CAN_START_PRIVATE_KEYRING = process.platform === 'linux' && ['dbus-daemon', 'dbus-send', 'gnome-keyring-daemon'].every(which);
export const NEEDS_PRIVATE_KEYRING = CAN_START_PRIVATE_KEYRING
  ? ''
  : ' [SKIPPED: needs Linux with dbus-daemon, dbus-send and gnome-keyring-daemon (apt-get install dbus dbus-bin gnome-keyring)]';

export interface PrivateKeyring {
  /** Environment for a child process that should use this keyring (merge over process.env). */
  readonly env: Record<string, string>;
  /** The folder holding the keyring files, the runtime folder and the bus socket's neighbours. */
  readonly root: string;
  lock(): Promise<void>;
  unlock(): Promise<void>;
  isLocked(): Promise<boolean>;
  /** The pid of the process serving the Secret Service now, or null when nothing does. */
  daemonPid(): Promise<number | null>;
  /** SIGKILLs the daemon serving the Secret Service; resolves once the bus no longer lists it. */
  killDaemon(): Promise<number>;
  /** Starts a fresh daemon that unlocks the login keyring with its password (after a kill). */
  startDaemon(): Promise<void>;
  /** Ends every process this keyring started and deletes its folders. */
  close(): Promise<void>;
}

export async function startPrivateKeyring(): Promise<PrivateKeyring> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-private-keyring-'));
  const xdg = {
    XDG_DATA_HOME: path.join(root, 'data'),
    XDG_CONFIG_HOME: path.join(root, 'config'),
    XDG_RUNTIME_DIR: path.join(root, 'run'),
  };
  for (const dir of Object.values(xdg)) fs.mkdirSync(dir, { mode: 0o700 });
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, ...xdg };
  delete baseEnv.DISPLAY;
  delete baseEnv.WAYLAND_DISPLAY;
  delete baseEnv.DBUS_SESSION_BUS_ADDRESS;

  // The bus gets the XDG folders in its own environment, so a daemon it activates (after a kill) uses this
  // keyring's files, never ~/.local/share/keyrings.
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { env: baseEnv, stdio: ['ignore', 'pipe', 'ignore'] });
  const started: ChildProcess[] = [bus];
  const seen = new Set<number>();
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    bus.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before printing its address`)));
  });
  const env = { ...xdg, DBUS_SESSION_BUS_ADDRESS: address };
  const childEnv: NodeJS.ProcessEnv = { ...baseEnv, DBUS_SESSION_BUS_ADDRESS: address };
  const dbusSend = (args: string[]) => run('dbus-send', ['--session', ...args], childEnv);

  const daemonPid = async (): Promise<number | null> => {
    try {
      const out = await dbusSend([
        '--print-reply=literal',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.GetConnectionUnixProcessID',
        'string:org.freedesktop.secrets',
      ]);
      const pid = Number(/uint32\s+(\d+)/.exec(out)?.[1]);
      if (!Number.isInteger(pid) || pid <= 0) return null;
      seen.add(pid);
      return pid;
    } catch {
      return null; // the name has no owner
    }
  };

  const startDaemon = async () => {
    const daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      env: childEnv,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    started.push(daemon);
    daemon.stdin!.end(KEYRING_PASSWORD);
    for (let i = 0; i < 200; i++) {
      if ((await daemonPid()) !== null) return;
      if (daemon.exitCode !== null) throw new Error(`gnome-keyring-daemon exited (${daemon.exitCode}) before serving org.freedesktop.secrets`);
      await sleep(50);
    }
    throw new Error('gnome-keyring-daemon did not claim org.freedesktop.secrets within 10 s');
  };

  const isLocked = async () => {
    const out = await dbusSend([
      '--print-reply=literal',
      '--dest=org.freedesktop.secrets',
      LOGIN,
      'org.freedesktop.DBus.Properties.Get',
      'string:org.freedesktop.Secret.Collection',
      'string:Locked',
    ]);
    return /boolean true/.test(out);
  };

  const keyring: PrivateKeyring = {
    env,
    root,
    async lock() {
      await dbusSend(['--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', `array:objpath:${LOGIN}`]);
      if (!(await isLocked())) throw new Error('the login keyring did not lock');
    },
    async unlock() {
      await unlockWithMasterPassword(address, LOGIN, KEYRING_PASSWORD);
      if (await isLocked()) throw new Error('the login keyring did not unlock');
    },
    isLocked,
    daemonPid,
    async killDaemon() {
      const pid = await daemonPid();
      if (pid === null) throw new Error('no daemon serves org.freedesktop.secrets');
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && (await daemonPid()) === pid; i++) await sleep(25);
      return pid;
    },
    startDaemon,
    async close() {
      await daemonPid(); // remember a daemon D-Bus activated, to end it too
      for (const pid of seen) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await startDaemon();
  } catch (err) {
    await keyring.close();
    throw err;
  }
  return keyring;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ── A minimal D-Bus client: just enough for UnlockWithMasterPassword ─────────────────────────────────────────

/**
 * Opens one connection to the bus, says Hello, opens a "plain" Secret Service session and calls
 * `org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword(collection, secret)`,
 * the call Seahorse uses to unlock a keyring with a typed password. Little-endian messages only (the bus
 * answers in the machine's byte order; every machine this runs on is little-endian).
 */
async function unlockWithMasterPassword(address: string, collection: string, password: string): Promise<void> {
  const conn = await DbusConnection.open(address);
  try {
    await conn.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello' });
    const opened = await conn.call({
      destination: 'org.freedesktop.secrets',
      path: '/org/freedesktop/secrets',
      iface: 'org.freedesktop.Secret.Service',
      member: 'OpenSession',
      signature: 'sv',
      body: (w) => {
        w.string('plain');
        w.signature('s');
        w.string('');
      },
    });
    // Reply (v output, o session): skip the variant (signature 's', an empty string), read the path.
    const r = new Reader(opened.body);
    const sig = r.signature();
    if (sig !== 's') throw new Error(`unexpected OpenSession output type ${sig}`);
    r.string();
    const session = r.string();
    await conn.call({
      destination: 'org.freedesktop.secrets',
      path: '/org/freedesktop/secrets',
      iface: 'org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface',
      member: 'UnlockWithMasterPassword',
      signature: 'o(oayays)',
      body: (w) => {
        w.string(collection);
        w.align(8);
        w.string(session);
        w.bytes(Buffer.alloc(0));
        w.bytes(Buffer.from(password, 'utf8'));
        w.string('text/plain');
      },
    });
  } finally {
    conn.close();
  }
}

class Writer {
  #bytes: number[] = [];
  get length(): number {
    return this.#bytes.length;
  }
  align(n: number): void {
    while (this.#bytes.length % n !== 0) this.#bytes.push(0);
  }
  byte(b: number): void {
    this.#bytes.push(b & 0xff);
  }
  u32(v: number): void {
    this.align(4);
    this.#bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  setU32(at: number, v: number): void {
    this.#bytes[at] = v & 0xff;
    this.#bytes[at + 1] = (v >>> 8) & 0xff;
    this.#bytes[at + 2] = (v >>> 16) & 0xff;
    this.#bytes[at + 3] = (v >>> 24) & 0xff;
  }
  /** `s` and `o`: u32 length, bytes, NUL. */
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    for (const x of b) this.#bytes.push(x);
    this.#bytes.push(0);
  }
  /** `g`: byte length, bytes, NUL. */
  signature(s: string): void {
    this.byte(s.length);
    for (const x of Buffer.from(s, 'ascii')) this.#bytes.push(x);
    this.#bytes.push(0);
  }
  /** `ay`. */
  bytes(b: Buffer): void {
    this.u32(b.length);
    for (const x of b) this.#bytes.push(x);
  }
  buffer(): Buffer {
    return Buffer.from(this.#bytes);
  }
}

class Reader {
  #at = 0;
  constructor(private readonly buf: Buffer, start = 0) {
    this.#at = start;
  }
  get offset(): number {
    return this.#at;
  }
  align(n: number): void {
    this.#at = Math.ceil(this.#at / n) * n;
  }
  byte(): number {
    return this.buf.readUInt8(this.#at++);
  }
  u32(): number {
    this.align(4);
    const v = this.buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  string(): string {
    const n = this.u32();
    const s = this.buf.toString('utf8', this.#at, this.#at + n);
    this.#at += n + 1;
    return s;
  }
  signature(): string {
    const n = this.byte();
    const s = this.buf.toString('ascii', this.#at, this.#at + n);
    this.#at += n + 1;
    return s;
  }
}

interface Call {
  destination: string;
  path: string;
  iface: string;
  member: string;
  signature?: string;
  body?: (w: Writer) => void;
}

interface Message {
  type: number;
  replySerial: number | null;
  errorName: string | null;
  body: Buffer;
}

class DbusConnection {
  #serial = 0;
  #buffered = Buffer.alloc(0);
  readonly #waiting = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, d]);
      this.#drain();
    });
    socket.on('close', () => {
      for (const w of this.#waiting.values()) w.reject(new Error('the D-Bus connection closed'));
      this.#waiting.clear();
    });
  }

  static async open(address: string): Promise<DbusConnection> {
    const unix = address.split(';').find((a) => a.startsWith('unix:'));
    const params = new Map((unix ?? '').slice(5).split(',').map((kv) => kv.split('=') as [string, string]));
    const socketPath = params.get('path') ?? (params.has('abstract') ? `\0${params.get('abstract')}` : undefined);
    if (!socketPath) throw new Error(`cannot connect to D-Bus address ${address}`);
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // SASL EXTERNAL with our uid, then BEGIN; the bus answers "OK <guid>".
    const uid = Buffer.from(String(process.getuid!()), 'ascii').toString('hex');
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (d: Buffer) => {
        text += d.toString('ascii');
        if (text.includes('\r\n')) {
          socket.off('data', onData);
          resolve(text);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    });
    if (!answer.startsWith('OK ')) throw new Error(`D-Bus authentication failed: ${answer.trim()}`);
    socket.write('BEGIN\r\n');
    return new DbusConnection(socket);
  }

  call(c: Call): Promise<Message> {
    const serial = ++this.#serial;
    const body = new Writer();
    c.body?.(body);
    const w = new Writer();
    w.byte('l'.charCodeAt(0));
    w.byte(1); // METHOD_CALL
    w.byte(0);
    w.byte(1);
    w.u32(body.length);
    w.u32(serial);
    const fieldsAt = w.length;
    w.u32(0); // header fields array length, patched below
    const fieldsStart = (w.align(8), w.length);
    const field = (code: number, sig: string, write: () => void) => {
      w.align(8);
      w.byte(code);
      w.signature(sig);
      write();
    };
    field(1, 'o', () => w.string(c.path));
    field(2, 's', () => w.string(c.iface));
    field(3, 's', () => w.string(c.member));
    field(6, 's', () => w.string(c.destination));
    if (c.signature) field(8, 'g', () => w.signature(c.signature!));
    w.setU32(fieldsAt, w.length - fieldsStart);
    w.align(8);
    const message = Buffer.concat([w.buffer(), body.buffer()]);
    return new Promise<Message>((resolve, reject) => {
      this.#waiting.set(serial, {
        resolve: (m) => {
          if (m.type === 3) reject(new Error(`${c.member} failed: ${m.errorName ?? 'D-Bus error'}`));
          else resolve(m);
        },
        reject,
      });
      this.socket.write(message);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #drain(): void {
    while (this.#buffered.length >= 16) {
      const b = this.#buffered;
      if (b[0] !== 'l'.charCodeAt(0)) throw new Error('big-endian D-Bus messages are not supported by this test helper');
      const bodyLength = b.readUInt32LE(4);
      const fieldsLength = b.readUInt32LE(12);
      const headerEnd = Math.ceil((16 + fieldsLength) / 8) * 8;
      const total = headerEnd + bodyLength;
      if (b.length < total) return;
      const r = new Reader(b, 16);
      let replySerial: number | null = null;
      let errorName: string | null = null;
      while (r.offset < 16 + fieldsLength) {
        r.align(8);
        const code = r.byte();
        const sig = r.signature();
        if (sig === 'u') {
          const v = r.u32();
          if (code === 5) replySerial = v;
        } else if (sig === 's' || sig === 'o') {
          const v = r.string();
          if (code === 4) errorName = v;
        } else if (sig === 'g') {
          r.signature();
        } else {
          throw new Error(`unexpected D-Bus header field type ${sig}`);
        }
      }
      const message: Message = { type: b[1]!, replySerial, errorName, body: b.subarray(headerEnd, total) };
      this.#buffered = b.subarray(total);
      if ((message.type === 2 || message.type === 3) && replySerial !== null) {
        const w = this.#waiting.get(replySerial);
        this.#waiting.delete(replySerial);
        w?.resolve(message);
      }
    }
  }
}
