import type { Clock } from '../core/clock.js';
import type { Keychain } from '../secrets/keychain.js';
import type { DocumentBackend } from '../store/document-file.js';

/**
 * What a window host (the Electron shell or browser mode) hands to `RelinkApp.open`: the platform pieces,
 * created by the host's own adapter files, so RelinkApp itself imports neither Electron nor a server.
 */
export interface RelinkAppOptions {
  host: 'electron' | 'browser';
  version: string;
  /** The profile folder (metadata, journal, activity log, locks). The demo lives in `<dataDir>/demo`. */
  dataDir: string;
  /** Keychain service name of the real profile; the demo uses `<keychainService> Demo`. */
  keychainService: string;
  keychain: Keychain;
  /** The metadata document for a profile folder (electron-store in Electron, conf in browser mode). */
  backendFor: (dataDir: string) => DocumentBackend;
  clock: Clock;
  /** Opens a Xero sign-in (authorize) URL in the system browser or the configured program. */
  openAuthorizeUrl: (url: string) => Promise<void>;
  /** Opens an allow-listed help page (see HELP_URLS) in the system browser. */
  openHelpUrl: (url: string) => Promise<void>;
  /** Start straight into demo mode (browser mode's `--demo`). */
  demo?: boolean;
  /** Desktop only: save text the window produced where the advisor chooses; false when they cancel. */
  saveFile?: (suggestedName: string, content: string) => Promise<boolean>;
  /** Desktop only: print the window's current page (a report) to a PDF the advisor saves. */
  savePdf?: (suggestedName: string) => Promise<boolean>;
  /** Called with text for the main process log (never contains a secret: callers pass messages only). */
  log?: (line: string) => void;
}

/** What the shells need beyond the API: counts for the tray, incidents for OS notifications, power events. */
export interface ShellHooks {
  /** Connections needing attention now (broken health), for the tray badge/tooltip. */
  attentionCount(): number;
  /** Called when the attention count may have changed. */
  onAttentionChange(listener: (count: number) => void): () => void;
  /** One call per incident opening and one per recovery (for OS notifications when enabled in settings). */
  onIncident(listener: (e: { kind: 'opened' | 'recovered'; incidentId: string; summary: string }) => void): () => void;
  /** Whether the advisor allows OS notifications (Settings). */
  notificationsEnabled(): boolean;
  /** powerMonitor: the computer is going to sleep / the screen locked. */
  suspend(): void;
  /** powerMonitor: the computer woke up / the screen unlocked: catch up on refreshes. */
  resume(): void;
  close(): Promise<void>;
}
