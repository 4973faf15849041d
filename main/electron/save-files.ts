import fs from 'node:fs/promises';
import type { BrowserWindow, Dialog } from 'electron';

/**
 * Saving what the window produced — a CSV export, or the report page printed to PDF — where the advisor
 * chooses, through the OS's save dialog. The window never writes files itself (downloads are blocked, as
 * part of the shell's hardening), so these are the only ways out.
 */
export interface SaveDeps {
  dialog: Pick<Dialog, 'showSaveDialog'>;
  window: () => BrowserWindow | null;
  writeFile?: (file: string, data: string | Uint8Array) => Promise<void>;
}

export function createSavers(deps: SaveDeps) {
  const write = deps.writeFile ?? ((file, data) => fs.writeFile(file, data, { mode: 0o600 }));
  const ask = async (suggestedName: string, filters: Electron.FileFilter[]): Promise<string | null> => {
    const win = deps.window();
    const options = { defaultPath: safeName(suggestedName), filters };
    const result = win ? await deps.dialog.showSaveDialog(win, options) : await deps.dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  };
  return {
    saveFile: async (suggestedName: string, content: string): Promise<boolean> => {
      const file = await ask(suggestedName, [{ name: 'CSV', extensions: ['csv'] }]);
      if (!file) return false;
      await write(file, content);
      return true;
    },
    savePdf: async (suggestedName: string): Promise<boolean> => {
      const win = deps.window();
      if (!win) return false;
      const file = await ask(suggestedName, [{ name: 'PDF', extensions: ['pdf'] }]);
      if (!file) return false;
      // The report page's own print stylesheet decides what is on paper (no navigation, no buttons).
      const pdf = await win.webContents.printToPDF({ printBackground: true, pageSize: 'A4' });
      await write(file, pdf);
      return true;
    },
  };
}

/** A suggested file name is only a name: no folders, nothing the OS would read as a path. */
export function safeName(name: string): string {
  const base = name.replace(/[/\\:*?"<>|\u0000-\u001f]+/g, '-').replace(/^\.+/, '').slice(0, 150);
  return base || 'relink-export';
}
