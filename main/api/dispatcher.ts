import {
  API_EVENTS,
  API_REQUESTS,
  type ApiError,
  type ApiResult,
  type EventName,
  type EventPayload,
  type ParsedRequestArgs,
  type RequestChannel,
  type RequestResult,
} from '../../shared/api.js';
import { ServiceError } from '../service/relink-service.js';
import { DiskFullError, isDiskFull } from '../store/document-file.js';

/**
 * The one place where requests from a window (Electron IPC or browser mode's WebSocket) meet the service.
 * Transport adapters check *who* is asking (sender frame, per-run secret, Origin); this checks *what* is
 * asked: the channel must exist, the arguments must match its schema, and the result must match its schema
 * before it leaves, so a handler cannot leak a field the contract does not name. Failures come back as values.
 */
export type Handlers = { [C in RequestChannel]: (args: ParsedRequestArgs<C>) => Promise<RequestResult<C>> | RequestResult<C> };

export interface ApiHost {
  /** Runs one request; never throws. */
  dispatch(channel: unknown, args: unknown): Promise<ApiResult<unknown>>;
  /** Validated events for every window; returns the unsubscribe function. */
  subscribe(listener: (event: EventName, payload: unknown) => void): () => void;
}

export function isRequestChannel(channel: unknown): channel is RequestChannel {
  return typeof channel === 'string' && Object.prototype.hasOwnProperty.call(API_REQUESTS, channel);
}

export function createDispatcher(handlers: Handlers, onInternalError: (channel: string, err: unknown) => void): ApiHost['dispatch'] {
  return async (channel, args) => {
    if (!isRequestChannel(channel)) {
      return fail('unknown-channel', `Relink has no request called ${JSON.stringify(String(channel)).slice(0, 120)}.`);
    }
    const spec = API_REQUESTS[channel];
    const parsed = spec.args.safeParse(args ?? {});
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
      return fail('invalid-arguments', `That request was not understood (${why}).`);
    }
    try {
      const handler = handlers[channel] as (a: unknown) => Promise<unknown> | unknown;
      const value = await handler(parsed.data);
      const checked = spec.result.safeParse(value);
      if (!checked.success) {
        onInternalError(channel, checked.error);
        return fail('internal', 'Relink produced an answer it could not check, so it was not shown. Please report this with the time it happened.');
      }
      return { ok: true, value: checked.data };
    } catch (err) {
      if (err instanceof ServiceError) return fail(err.code, err.message);
      const full = diskFullError(err);
      if (full) return { ok: false, error: full };
      onInternalError(channel, err);
      return fail('internal', 'Something went wrong inside Relink; nothing was changed. Please try again, and report it if it happens again.');
    }
  };
}

/**
 * A full disk, as the window says it. A change the metadata file could not take (DiskFullError) stays in the
 * running app's memory and is written by the store's next attempt (metadata-store.ts), so the window says the
 * change is not saved *yet* — unlike the CLI, which ends and keeps nothing, and so says nothing was changed.
 * Any other ENOSPC (the journal, a saved report) claims neither.
 */
export function diskFullError(err: unknown): ApiError | null {
  if (err instanceof DiskFullError) {
    return {
      code: 'disk-full',
      message: `The disk is full, so this change is not saved yet. Free some space and keep Relink open: it saves the change as soon as there is room. (${err.code})`,
    };
  }
  if (isDiskFull(err)) {
    return { code: 'disk-full', message: `The disk is full: Relink could not finish. Free some space and try again. (${(err as NodeJS.ErrnoException).code})` };
  }
  return null;
}

function fail(code: ApiError['code'], message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

/** Fan-out of events to every connected window, each payload validated against the contract first. */
export class EventHub {
  readonly #listeners = new Set<(event: EventName, payload: unknown) => void>();

  subscribe(listener: (event: EventName, payload: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    const checked = API_EVENTS[event].parse(payload);
    for (const l of this.#listeners) {
      try {
        l(event, checked);
      } catch {
        // One window failing to receive must not stop the others.
      }
    }
  }

  get size(): number {
    return this.#listeners.size;
  }
}
