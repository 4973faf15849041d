/** Where the Electron executable is, or why there is none (see electron-binary.mjs). */
export declare function findElectronBinary(env?: NodeJS.ProcessEnv): { path: string; why: null } | { path: null; why: string };
