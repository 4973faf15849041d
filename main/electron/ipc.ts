import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, type ApiResult } from '../../shared/api.js';
import type { ApiHost } from '../api/dispatcher.js';
import { isAppUrl, senderRefusal, type SenderFacts } from './policy.js';

/**
 * The IPC adapter: one `ipcMain.handle` for every request and one channel for every event (shared/api.ts).
 * It checks *who* is asking — the message must come from the top frame of Relink's own window, showing
 * Relink's own page — and leaves *what* is asked (channel, arguments, result) to the dispatcher. Electron's
 * objects are passed in, so tests drive this with fakes.
 */

/** The parts of Electron's `ipcMain` used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: any[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The parts of an `IpcMainInvokeEvent` used here. */
export interface InvokeEventLike {
  sender: unknown;
  readonly senderFrame: { readonly url: string; readonly parent: unknown } | null;
}

/** The parts of the window's `webContents` used here. */
export interface EventTargetLike {
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, ...args: unknown[]): void;
}

export interface IpcOptions {
  ipcMain: IpcMainLike;
  host: ApiHost;
  /** The webContents of Relink's window, or null while there is none. */
  windowContents: () => EventTargetLike | null;
  log?: (line: string) => void;
}

export const FORBIDDEN_MESSAGE =
  'Relink refused this request because it did not come from Relink’s own window. Nothing was changed.';

/** Gathers the facts policy.ts decides on. Never throws: a frame Electron has already dropped counts as gone. */
export function senderFacts(event: InvokeEventLike, ours: unknown): SenderFacts {
  let frame: InvokeEventLike['senderFrame'] = null;
  try {
    frame = event.senderFrame;
  } catch {
    frame = null;
  }
  return {
    fromOurWindow: ours !== null && ours !== undefined && event.sender === ours,
    frameUrl: frame ? String(frame.url) : null,
    isTopFrame: frame ? frame.parent === null : false,
  };
}

/** Registers the request handler and the event forwarding; returns the function that undoes both. */
export function registerIpc(opts: IpcOptions): () => void {
  const log = opts.log ?? (() => {});
  opts.ipcMain.handle(IPC_INVOKE_CHANNEL, async (event, channel: unknown, args: unknown): Promise<ApiResult<unknown>> => {
    const refusal = senderRefusal(senderFacts(event, opts.windowContents()));
    if (refusal !== null) {
      // The channel name is the caller's string; keep the log line short and printable.
      log(`relink: refused a request (${JSON.stringify(String(channel)).slice(0, 60)}): ${refusal}`);
      return { ok: false, error: { code: 'forbidden', message: FORBIDDEN_MESSAGE } };
    }
    try {
      return await opts.host.dispatch(channel, args);
    } catch (err) {
      // dispatch() never throws by contract; if it ever does, the window still gets a value, not an exception.
      log(`relink: request failed inside the dispatcher: ${(err as Error)?.message ?? String(err)}`);
      return { ok: false, error: { code: 'internal', message: 'Something went wrong inside Relink; nothing was changed. Please try again.' } };
    }
  });

  const unsubscribe = opts.host.subscribe((event, payload) => {
    const contents = opts.windowContents();
    // Only Relink's own page gets the picture: if the window ever showed anything else, it gets nothing.
    if (!contents || contents.isDestroyed() || !isAppUrl(contents.getURL())) return;
    contents.send(IPC_EVENT_CHANNEL, event, payload);
  });

  return () => {
    unsubscribe();
    opts.ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
  };
}
