import ElectronStore from 'electron-store';
import { ConfDocumentBackend } from '../store/document-file.js';

/**
 * The metadata backend inside Electron: electron-store, which is conf plus Electron's app paths and IPC
 * plumbing we do not use. Same file name, same atomic writes, no conf schema, never clears an invalid file —
 * exactly ConfBackend's behaviour, so the metadata store cannot tell them apart.
 *
 * electron-store imports `electron` at load time, which under plain Node resolves to the path of the
 * Electron binary (or throws when it was never downloaded). Only the Electron shell imports this file;
 * tests and the CLI use ConfBackend.
 */
export class ElectronStoreBackend extends ConfDocumentBackend {
  /** `dataDir` must be absolute, normally `app.getPath('userData')`. */
  constructor(dataDir: string) {
    super(dataDir, (name, codec) => new ElectronStore({ cwd: dataDir, name, clearInvalidConfig: false, configFileMode: 0o600, ...codec }));
  }
}
