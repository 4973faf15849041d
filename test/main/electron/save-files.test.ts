import { describe, expect, it } from 'vitest';
import { createSavers, safeName } from '../../../main/electron/save-files.js';

/** Saving exports and PDFs through the OS save dialog (fakes for the dialog and the window). */
describe('save-files', () => {
  const written: Array<{ file: string; data: string | Uint8Array }> = [];
  const writeFile = async (file: string, data: string | Uint8Array) => void written.push({ file, data });
  const pdf = new Uint8Array([37, 80, 68, 70]);
  const win = { webContents: { printToPDF: async () => pdf } } as never;

  it('writes where the advisor chose, and nothing when they cancel', async () => {
    written.length = 0;
    let answer: { canceled: boolean; filePath?: string } = { canceled: false, filePath: '/home/a/out.csv' };
    const asked: unknown[] = [];
    const dialog = { showSaveDialog: async (...args: unknown[]) => (asked.push(args.at(-1)), answer) } as never;
    const s = createSavers({ dialog, window: () => win, writeFile });
    expect(await s.saveFile('relink-activity.csv', 'a,b\n')).toBe(true);
    expect(written).toEqual([{ file: '/home/a/out.csv', data: 'a,b\n' }]);
    expect(asked[0]).toMatchObject({ defaultPath: 'relink-activity.csv' });
    answer = { canceled: true };
    expect(await s.saveFile('x.csv', 'y')).toBe(false);
    expect(written).toHaveLength(1);
  });

  it('prints the window to PDF', async () => {
    written.length = 0;
    const dialog = { showSaveDialog: async () => ({ canceled: false, filePath: '/home/a/audit.pdf' }) } as never;
    const s = createSavers({ dialog, window: () => win, writeFile });
    expect(await s.savePdf('audit.pdf')).toBe(true);
    expect(written).toEqual([{ file: '/home/a/audit.pdf', data: pdf }]);
    expect(await createSavers({ dialog, window: () => null, writeFile }).savePdf('a.pdf')).toBe(false);
  });

  it('suggests names only, never paths', () => {
    const up = safeName('../../etc/passwd');
    expect(up).not.toMatch(/[/\\]/);
    expect(up.startsWith('.')).toBe(false);
    expect(safeName('C:\\Windows\\x.csv')).toBe('C-Windows-x.csv');
    expect(safeName('...')).toBe('relink-export');
    expect(safeName('relink-offboarding-jane.csv')).toBe('relink-offboarding-jane.csv');
  });
});
