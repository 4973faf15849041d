import type { ApiResult, EventName, EventPayload, RelinkBridge, RequestArgs, RequestChannel, RequestResult } from '../../shared/api.js';

/**
 * `window.relink` in Electron: the two functions of the RelinkBridge contract and nothing else — never
 * `ipcRenderer` itself, never the IPC event object (whose `sender` is `ipcRenderer`). Built from an
 * `ipcRenderer`-like object so that tests can drive it with a fake.
 *
 * The preload runs sandboxed, where only `electron`'s renderer modules can be required, and is bundled into
 * one file. It imports shared/api.ts for types only: a value import would pull zod and every schema into the
 * preload. The two channel names are therefore repeated here, and a unit test pins them to shared/api.ts.
 */
export const INVOKE_CHANNEL = 'relink:invoke';
export const EVENT_CHANNEL = 'relink:event';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export interface ContextBridgeLike {
  exposeInMainWorld(apiKey: string, api: unknown): void;
}

const LOST_CONTACT: ApiResult<never> = {
  ok: false,
  error: {
    code: 'internal',
    message: 'Relink’s window lost contact with the rest of Relink. Close the window and open Relink again; if it keeps happening, report it.',
  },
};

export function createBridge(ipc: IpcRendererLike): RelinkBridge {
  /** Listeners by event name. Each subscription is its own entry, so the same function may subscribe twice. */
  const listeners = new Map<string, Set<{ listener: (payload: unknown) => void }>>();
  let attached = false;

  const onEvent = (_event: unknown, name: unknown, payload: unknown) => {
    if (typeof name !== 'string') return;
    const subs = listeners.get(name);
    if (!subs) return;
    for (const sub of [...subs]) {
      try {
        sub.listener(payload);
      } catch (err) {
        // One failing listener must not stop the others from getting the update.
        console.error(`relink: a listener for "${name}" failed`, err);
      }
    }
  };

  const bridge: RelinkBridge = {
    async invoke<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<ApiResult<RequestResult<C>>> {
      try {
        return (await ipc.invoke(INVOKE_CHANNEL, channel, args)) as ApiResult<RequestResult<C>>;
      } catch {
        // The contract says invoke never rejects for a failure: no handler, a crashed main, a closed channel.
        return LOST_CONTACT;
      }
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError('relink.on needs a function to call.');
      const sub = { listener: listener as (payload: unknown) => void };
      let subs = listeners.get(event);
      if (!subs) listeners.set(event, (subs = new Set()));
      subs.add(sub);
      if (!attached) {
        ipc.on(EVENT_CHANNEL, onEvent);
        attached = true;
      }
      return () => {
        const current = listeners.get(event);
        if (!current?.delete(sub)) return;
        if (current.size === 0) listeners.delete(event);
        if (listeners.size === 0 && attached) {
          ipc.removeListener(EVENT_CHANNEL, onEvent);
          attached = false;
        }
      };
    },
  };
  return Object.freeze(bridge);
}

export function exposeBridge(contextBridge: ContextBridgeLike, ipc: IpcRendererLike): void {
  contextBridge.exposeInMainWorld('relink', createBridge(ipc));
}
