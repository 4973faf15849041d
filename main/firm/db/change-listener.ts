/**
 * A dedicated connection that LISTENs for the firm's document changes, and comes back by itself when the
 * connection drops (the server restarted, pg_terminate_backend, the network): DESIGN.md §7, "changes announced
 * with LISTEN/NOTIFY". It is a connection of its own because a LISTEN belongs to a session: a pooled
 * connection handed to someone else, or closed when idle, would silently stop hearing.
 *
 * It only hears; what a notification means is the store's business (firm-document-store.ts): `onNotify` for
 * each notification on the channel, `onListening` each time the LISTEN is (re)established, so the store can
 * read whatever it missed while deaf. No `pg` import: it takes a `connect` function whose client has the shape
 * of a pg PoolClient (a pool checkout kept for good, or a Client).
 */

export interface ListenClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  /** Give the connection back; `true` (or an error) destroys it rather than pooling it. */
  release(destroy?: boolean | Error): void;
}

export interface ChangeListenerOptions {
  connect: () => Promise<ListenClient>;
  channel: string;
  onNotify: (payload: string) => void;
  /** The LISTEN is in place (first time, or again after an outage): catch up on what was missed. */
  onListening: (again: boolean) => void;
  /** The connection was lost, or could not be made (it keeps trying). */
  onError: (error: Error) => void;
  /** Retry delays grow from this to `maxRetryMs` (defaults 200 ms, 5 s). */
  minRetryMs?: number;
  maxRetryMs?: number;
}

const CHANNEL_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class ChangeListener {
  #client: ListenClient | null = null;
  #stopped = false;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #everListened = false;
  #connecting: Promise<void> | null = null;

  constructor(private readonly opts: ChangeListenerOptions) {
    if (!CHANNEL_NAME.test(opts.channel)) throw new Error('the channel must be a lower-case SQL name');
  }

  get listening(): boolean {
    return this.#client !== null;
  }

  /** Resolves once listening, or after the first failure (it then keeps retrying in the background). */
  start(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = null;
    if (client) {
      await client.query(`UNLISTEN ${this.opts.channel}`).catch(() => undefined);
      client.release(true);
    }
  }

  async #connect(): Promise<void> {
    if (this.#stopped || this.#client) return;
    let client: ListenClient | null = null;
    const lost = (error?: Error) => {
      if (this.#client !== client || !client) return;
      this.#client = null;
      client.removeListener('notification', onNotification);
      try {
        client.release(true);
      } catch {
        // already gone
      }
      if (this.#stopped) return;
      this.opts.onError(error ?? new Error('The firm database connection that listens for changes was closed.'));
      this.#retry();
    };
    const onNotification = (message: { channel?: string; payload?: string }) => {
      if (message.channel === this.opts.channel) this.opts.onNotify(message.payload ?? '');
    };
    try {
      client = await this.opts.connect();
      // A checked-out connection has no error listener of its own: without this a dropped one ends the process.
      client.on('error', (e: Error) => lost(e));
      client.on('end', () => lost());
      client.on('notification', onNotification);
      await client.query(`LISTEN ${this.opts.channel}`);
    } catch (error) {
      if (client) {
        try {
          client.release(true);
        } catch {
          // already gone
        }
      }
      if (this.#stopped) return;
      this.opts.onError(error instanceof Error ? error : new Error(String(error)));
      this.#retry();
      return;
    }
    if (this.#stopped) {
      client.release(true);
      return;
    }
    this.#client = client;
    this.#failures = 0;
    const again = this.#everListened;
    this.#everListened = true;
    this.opts.onListening(again);
  }

  #retry(): void {
    if (this.#stopped || this.#timer) return;
    const min = this.opts.minRetryMs ?? 200;
    const delay = Math.min(this.opts.maxRetryMs ?? 5_000, min * 2 ** this.#failures++);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.start();
    }, delay);
    this.#timer.unref?.();
  }
}
