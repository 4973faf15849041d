import type { RelinkBridge } from '../../../shared/api.js';
import { createWsBridge } from './ws-bridge.js';

/**
 * The one way the UI reaches Relink. In the Electron window the preload script has put `window.relink` there
 * (IPC); in browser mode there is none, and the bridge speaks to the local server over a WebSocket instead.
 * The UI cannot tell which, and must not need to.
 */

declare global {
  interface Window {
    /** Set by Electron's preload (contextBridge); absent in browser mode. */
    readonly relink?: RelinkBridge;
  }
}

let bridge: RelinkBridge | null = null;

export function getBridge(): RelinkBridge {
  bridge ??= (globalThis as { relink?: RelinkBridge }).relink ?? createWsBridge();
  return bridge;
}
