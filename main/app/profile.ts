import path from 'node:path';
import envPaths from 'env-paths';

/**
 * Which Relink profile a process works on: its data folder and its keychain service name. Shared by every host
 * (the `relink` CLI, browser mode, and the Electron shell for its environment variables), so that
 * `--data-dir`/`--keychain-service` and RELINK_DATA_DIR/RELINK_KEYCHAIN_SERVICE mean the same thing everywhere
 * and all of them can share one profile. In main/app, not in one host's folder, because hosts never import
 * each other (test/build/layering.test.ts).
 */

export interface ProfileLocation {
  dataDir: string;
  keychainService: string;
}

/** The global options, in node:util parseArgs form. */
export const PROFILE_OPTIONS = {
  'data-dir': { type: 'string' },
  'keychain-service': { type: 'string' },
} as const;

export const DEFAULT_KEYCHAIN_SERVICE = 'Relink';

export function defaultDataDir(): string {
  return envPaths('relink', { suffix: '' }).data;
}

/** Command-line values win over the environment (RELINK_DATA_DIR, RELINK_KEYCHAIN_SERVICE), which wins over the defaults. */
export function resolveProfile(
  values: { 'data-dir'?: unknown; 'keychain-service'?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): ProfileLocation {
  return {
    dataDir: path.resolve(String(values['data-dir'] ?? env.RELINK_DATA_DIR ?? defaultDataDir())),
    keychainService: String(values['keychain-service'] ?? env.RELINK_KEYCHAIN_SERVICE ?? DEFAULT_KEYCHAIN_SERVICE),
  };
}
