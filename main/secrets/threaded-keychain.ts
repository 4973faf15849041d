import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { toKeychainError } from './napi-keyring.js';
import type { Keychain } from './keychain.js';

/**
 * The OS keychain through @napi-rs/keyring, on a small pool of worker threads.
 *
 * Measured on gnome-keyring: each call of the library opens a Secret Service session (a Diffie-Hellman
 * exchange) and keeps the calling JavaScript thread busy for its whole 5–7 ms, even through the async API. A
 * wake-up sweep makes three calls per grant (re-read under the lock, write, read back), so on the main
 * thread 200 grants would stall everything else for seconds. On workers the main thread stays free, and
 * calls for different grants overlap wherever the keychain allows it.
 *
 * Same behaviour and errors as NapiKeychain (entries pinned to the Secret Service on Linux); the workers are
 * unref'd so they never keep a CLI process alive, and `close()` ends them.
 */
/** How many keychain calls a worker makes between collections (each call may hold one socket until then). */
export const CALLS_PER_COLLECTION = 8;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { AsyncEntry } = require(workerData.modulePath);
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
parentPort.on('message', async ({ id, op, service, account, value }) => {
  try {
    const entry = new AsyncEntry(service, account, options);
    const result = op === 'get' ? await entry.getPassword() : op === 'set' ? await entry.setPassword(value) : await entry.deleteCredential();
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

export class ThreadedKeychain implements Keychain {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; op: Op; account: string }>();
  readonly #load: number[] = [];
  /** Resolved when each worker has finished starting (or exited). */
  readonly #ready: Promise<void>[] = [];
  #next = 1;
  #closed = false;

  /**
   * Two workers by default: the Secret Service daemon answers one call at a time, so a second worker keeps it
   * busy while the first does its client-side work, and more only add memory (about 9 MB each).
   */
  constructor(size = 2) {
    const modulePath = createRequire(import.meta.url).resolve('@napi-rs/keyring');
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath } });
      worker.unref();
      let ready!: () => void;
      this.#ready.push(new Promise<void>((resolve) => (ready = resolve)));
      worker.once('exit', () => ready());
      worker.on('message', (reply: Reply | { ready: true }) => {
        if ('ready' in reply) return ready();
        const waiter = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        this.#load[i]! -= 1;
        waiter?.resolve(reply);
      });
      worker.on('error', (error) => this.#failAll(i, error));
      this.#workers.push(worker);
      this.#load.push(0);
    }
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

  /**
   * Lets calls in progress finish, then ends the workers. Cutting a Secret Service call off mid-request can
   * crash gnome-keyring-daemon (42.1 aborts when a client vanishes during session negotiation), after which
   * D-Bus restarts it locked — so never terminate with a call in flight.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Nor while a worker is still starting: V8 then reports the interrupted start-up (installing the gc
    // extension) with a crash dump on stdout, which would land in the middle of a CLI's output.
    await Promise.race([Promise.all(this.#ready), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  async #call(op: Op, service: string, account: string, value?: string): Promise<string | boolean | null> {
    if (this.#closed) throw toKeychainError(new Error('Platform failure: the keychain connection was closed'), op, account);
    // The least busy worker takes it; one grant's calls are already serialised by the vault.
    let index = 0;
    for (let i = 1; i < this.#load.length; i++) if (this.#load[i]! < this.#load[index]!) index = i;
    const id = this.#next++;
    const reply = await new Promise<Reply>((resolve) => {
      this.#pending.set(id, { resolve, op, account });
      this.#load[index]! += 1;
      this.#workers[index]!.postMessage({ id, op, service, account, value });
    });
    if (!reply.ok) throw toKeychainError(new Error(reply.message ?? 'unknown keychain error'), op, account);
    return reply.result ?? null;
  }

  #failAll(index: number, error: Error): void {
    for (const [id, waiter] of this.#pending) {
      this.#pending.delete(id);
      waiter.resolve({ id, ok: false, message: `Platform failure: keychain worker ${index} stopped (${error.message})` });
    }
  }
}
