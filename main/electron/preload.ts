import { contextBridge, ipcRenderer } from 'electron';
import { exposeBridge } from './preload-bridge.js';

// The sandboxed preload of Relink's window: exposes `window.relink` (shared/api.ts RelinkBridge) and nothing
// else. Bundled to dist/electron/preload.cjs, which requires only `electron`.
exposeBridge(contextBridge, ipcRenderer);
