import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { toKeychainError } from './napi-keyring.js';
import { KeychainError, type Keychain } from './keychain.js';

/**
 * The OS keychain through @napi-rs/keyring, on a small pool of worker threads, every call with a deadline.
 *
 * Measured on gnome-keyring: each call of the library opens a Secret Service session (a Diffie-Hellman
 * exchange) and keeps the calling JavaScript thread busy for its whole 5–7 ms, even through the async API. A
 * wake-up sweep makes three calls per grant (re-read under the lock, write, read back), so on the main
 * thread 200 grants would stall everything else for seconds. On workers the main thread stays free, and
 * calls for different grants overlap wherever the keychain allows it.
 *
 * A call can also never return: when gnome-keyring-daemon dies while a call waits for an unlock prompt to
 * complete, the library waits for the prompt's answer for ever (seen in 5 of 12 headless runs; D-Bus then
 * starts a new, locked daemon and the next call answers "locked" at once). So:
 *
 * - every call has a deadline (`timeoutMs`, default 15 s, where a normal call takes milliseconds); past it the
 *   caller gets KeychainError('not-answering') and Relink carries on;
 * - the worker running that call is given up on: no call is sent to it again and a fresh worker takes its
 *   place. Its thread cannot be stopped (`terminate()` waits for the native call to return), so it is ended
 *   when the call does return — an unlock prompt the user answers late — and otherwise stays parked. At most
 *   MAX_STUCK_WORKERS are parked (about 9 MB each); past that, calls fail at once instead of adding threads.
 * - workers call the library's synchronous API, so a call that never returns blocks only its own worker's
 *   thread and never one of libuv's four shared threads, which the main process needs for every file it
 *   reads or writes (measured: the same throughput as the async API on the workers).
 *
 * A parked thread has one cost left: Node joins every worker thread when the process exits, so a process
 * with one waits at exit for the call to return. `stuckCalls` says how many there are.
 *
 * Same behaviour and errors as NapiKeychain otherwise (entries pinned to the Secret Service on Linux); the
 * workers are unref'd so they never keep a CLI process alive, and `close()` ends them.
 */
/** How many keychain calls a worker makes between collections (each call may hold one socket until then). */
export const CALLS_PER_COLLECTION = 8;
/** A normal call takes milliseconds; an unlock prompt may take a person a while, but not this long. */
export const DEFAULT_CALL_TIMEOUT_MS = 15_000;
/** Workers given up on (their call still running) that are kept at most; past that, calls fail at once. */
export const MAX_STUCK_WORKERS = 4;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Entry } = require(workerData.modulePath);
const options = { linux: { store: 'secret-service' } };
// Each entry keeps its D-Bus connection (a socket) open until the garbage collector finalises it, and this
// thread allocates too little for that to happen on its own: without help a long-running Relink reaches the
// 1,024-descriptor limit after about a thousand keychain calls, and libdbus then spins. A collection of this
// worker's tiny heap every few calls closes them (well under a millisecond, off the main thread).
require('node:v8').setFlagsFromString('--expose-gc');
const collect = require('node:vm').runInNewContext('gc');
const CALLS_PER_COLLECTION = ${CALLS_PER_COLLECTION};
let calls = 0;
parentPort.postMessage({ ready: true });
parentPort.on('message', ({ id, op, service, account, value }) => {
  try {
    const entry = new Entry(service, account, options);
    const result = op === 'get' ? entry.getPassword() : op === 'set' ? entry.setPassword(value) : entry.deleteCredential();
    parentPort.postMessage({ id, ok: true, result: result === undefined ? null : result });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, message: String((error && error.message) || error) });
  }
  if (++calls % CALLS_PER_COLLECTION === 0) setImmediate(collect);
});
`;

type Op = 'get' | 'set' | 'delete';
interface Reply {
  id: number;
  ok: boolean;
  result?: string | boolean | null;
  message?: string;
}

interface Call {
  id: number;
  op: Op;
  service: string;
  account: string;
  value: string | undefined;
  settle: (outcome: Reply | KeychainError) => void;
  timer: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  /** The call it is running (one at a time: the library call is synchronous on the worker). */
  busy: Call | null;
  ready: Promise<void>;
  stuck: boolean;
}

export interface ThreadedKeychainOptions {
  /** Worker threads (default 2). */
  size?: number;
  /** Deadline of each call, from when it is made (default 15 s). */
  timeoutMs?: number;
}

export class ThreadedKeychain implements Keychain {
  readonly #size: number;
  readonly #timeoutMs: number;
  readonly #modulePath: string;
  readonly #slots: Slot[] = [];
  readonly #stuck = new Set<Slot>();
  readonly #queue: Call[] = [];
  #next = 1;
  #closed = false;

  /**
   * Two workers by default: the Secret Service daemon answers one call at a time, so a second worker keeps it
   * busy while the first does its client-side work, and more only add memory (about 9 MB each).
   */
  constructor(options: ThreadedKeychainOptions | number = {}) {
    const opts = typeof options === 'number' ? { size: options } : options;
    this.#size = Math.max(1, opts.size ?? 2);
    this.#timeoutMs = Math.max(1, opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.#modulePath = createRequire(import.meta.url).resolve('@napi-rs/keyring');
    for (let i = 0; i < this.#size; i++) this.#slots.push(this.#spawn());
  }

  async get(service: string, account: string): Promise<string | null> {
    return (await this.#call('get', service, account)) as string | null;
  }

  async set(service: string, account: string, value: string): Promise<void> {
    await this.#call('set', service, account, value);
  }

  async delete(service: string, account: string): Promise<boolean> {
    return Boolean(await this.#call('delete', service, account));
  }

  /** Calls past their deadline whose worker is still waiting for the keychain to answer. */
  get stuckCalls(): number {
    return this.#stuck.size;
  }

  /**
   * Lets calls in progress finish (each is bounded by its deadline), then ends the workers. Cutting a Secret
   * Service call off mid-request can crash gnome-keyring-daemon (42.1 aborts when a client vanishes during
   * session negotiation), after which D-Bus restarts it locked — so never terminate with a call in flight.
   * Workers parked on a call that never returned are asked to end too, without waiting for them.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    for (const call of this.#queue.splice(0)) this.#fail(call, closedError(call));
    const deadline = Date.now() + timeoutMs;
    while (this.#slots.some((s) => s.busy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Nor while a worker is still starting: V8 then reports the interrupted start-up (installing the gc
    // extension) with a crash dump on stdout, which would land in the middle of a CLI's output.
    await Promise.race([
      Promise.all(this.#slots.map((s) => s.ready)),
      new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
    ]);
    for (const s of this.#stuck) void s.worker.terminate();
    await Promise.all(this.#slots.splice(0).map((s) => s.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath: this.#modulePath } });
    worker.unref();
    let ready!: () => void;
    const slot: Slot = { worker, busy: null, ready: new Promise<void>((resolve) => (ready = resolve)), stuck: false };
    worker.once('exit', () => {
      ready();
      this.#lost(slot, 'exited');
    });
    worker.on('message', (reply: Reply | { ready: true }) => {
      if ('ready' in reply) return ready();
      const call = slot.busy;
      slot.busy = null;
      if (call && call.id === reply.id) {
        clearTimeout(call.timer);
        call.settle(reply);
      }
      if (slot.stuck) {
        // The call it was given up on has returned at last: the thread is free now and can be ended.
        this.#stuck.delete(slot);
        void worker.terminate();
        this.#replenish();
      }
      this.#dispatch();
    });
    worker.on('error', (error) => this.#lost(slot, `stopped (${error.message})`));
    return slot;
  }

  async #call(op: Op, service: string, account: string, value?: string): Promise<string | boolean | null> {
    const id = this.#next++;
    const outcome = await new Promise<Reply | KeychainError>((settle) => {
      const call: Call = { id, op, service, account, value, settle, timer: undefined as unknown as NodeJS.Timeout };
      if (this.#closed) return settle(closedError(call));
      call.timer = setTimeout(() => this.#timedOut(call), this.#timeoutMs);
      call.timer.unref();
      this.#queue.push(call);
      this.#dispatch();
    });
    if (outcome instanceof KeychainError) throw outcome;
    if (!outcome.ok) throw toKeychainError(new Error(outcome.message ?? 'unknown keychain error'), op, account);
    return outcome.result ?? null;
  }

  /** Hands queued calls to idle workers, oldest first; one grant's calls are already serialised by the vault. */
  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.busy || slot.stuck) continue;
      const call = this.#queue.shift()!;
      slot.busy = call;
      slot.worker.postMessage({ id: call.id, op: call.op, service: call.service, account: call.account, value: call.value });
    }
    if (this.#queue.length > 0 && this.#slots.length === 0) {
      // Every worker is parked on a call that never returned and no more may be started: say so at once
      // rather than let these wait for their deadline too.
      for (const call of this.#queue.splice(0)) this.#fail(call, notAnswering(call, this.#timeoutMs, this.#stuck.size));
    }
  }

  #timedOut(call: Call): void {
    const queued = this.#queue.indexOf(call);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
    } else {
      const slot = this.#slots.find((s) => s.busy === call);
      if (slot) {
        // Give up on this worker: it is blocked inside the library until the keychain answers, if ever.
        slot.stuck = true;
        slot.busy = null;
        this.#slots.splice(this.#slots.indexOf(slot), 1);
        this.#stuck.add(slot);
        this.#replenish();
      }
    }
    this.#fail(call, notAnswering(call, this.#timeoutMs, 0));
    this.#dispatch();
  }

  /** Keeps `size` working workers, as long as the parked ones leave room. */
  #replenish(): void {
    while (!this.#closed && this.#slots.length < this.#size && this.#slots.length + this.#stuck.size < this.#size + MAX_STUCK_WORKERS) {
      this.#slots.push(this.#spawn());
    }
  }

  /** A worker exited or crashed: its call fails as "not available" (what it is), and a new worker replaces it. */
  #lost(slot: Slot, how: string): void {
    const call = slot.busy;
    slot.busy = null;
    this.#stuck.delete(slot);
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    if (call) {
      clearTimeout(call.timer);
      call.settle({ id: call.id, ok: false, message: `Platform failure: keychain worker ${how}` });
    }
    this.#replenish();
    this.#dispatch();
  }

  #fail(call: Call, error: KeychainError): void {
    clearTimeout(call.timer);
    call.settle(error);
  }
}

function closedError(call: Pick<Call, 'op' | 'account'>): KeychainError {
  return toKeychainError(new Error('Platform failure: the keychain connection was closed'), call.op, call.account);
}

function notAnswering(call: Pick<Call, 'op' | 'account'>, timeoutMs: number, parked: number): KeychainError {
  const code = parked > 0 ? `${parked} keychain calls never returned` : `keychain ${call.op} of "${call.account}" timed out after ${Math.round(timeoutMs / 1000)} s`;
  return new KeychainError('not-answering', `The keychain is not answering. Relink will keep trying; nothing was changed. (${code})`);
}
