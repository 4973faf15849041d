import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * electron-builder.yml is only read when someone packages the app, which never happens on CI here (no
 * Electron binary). Validating it against electron-builder's own JSON schema catches a typo in a fuse name or
 * target on every run instead of on release day.
 */
const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
const config = parse(readFileSync('electron-builder.yml', 'utf8'));

describe('electron-builder.yml', () => {
  it("is valid against electron-builder's schema", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('names the product and sets every hardening fuse', () => {
    expect(config.productName).toBe('Relink');
    expect(config.asar).toBe(true);
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('builds dmg+zip for macOS, nsis for Windows, AppImage+deb for Linux', () => {
    expect(config.mac.target).toEqual(['dmg', 'zip']);
    expect(config.win.target).toEqual(['nsis']);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
  });

  it('would reject a misspelt fuse (the check can fail)', () => {
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(schema);
    expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsNodee: false } })).toBe(false);
  });
});
