import type { KeychainState } from '../secrets/keychain.js';

/**
 * The failures the service and its collaborators raise for a host to show as they are, and the two keychain
 * guards every part of the service uses before and around touching a secret. Separate so that each collaborator
 * (app-registry.ts, connect-flow.ts, disconnect.ts, provider-clients.ts) can throw them without importing the
 * service that wires it.
 */

/** A failure a host should show as it is (with its own exit code or banner). */
export class ServiceError extends Error {
  constructor(
    readonly code: 'usage' | 'not-found' | 'keychain' | 'unreachable' | 'not-authorised' | 'rejected',
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Refuses, before anything is changed, work that needs a keychain in this state (anything but available). */
export function requireKeychainAvailable(state: KeychainState): void {
  if (state === 'available') return;
  const what =
    state === 'locked'
      ? 'The keychain is locked.'
      : state === 'not-answering'
        ? 'The keychain is not answering (Relink asks it again every few seconds).'
        : 'The keychain is not available (on Linux, GNOME Keyring or another Secret Service must be running in your desktop session).';
  throw new ServiceError(
    'keychain',
    `${what} Unlock your keychain (GNOME Keyring, macOS Keychain or Windows Credential Manager) and try again; nothing was changed or deleted.`,
  );
}

/** One keychain call, its failure reported as the service's keychain error. */
export async function requireKeychain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ServiceError('keychain', (err as Error).message);
  }
}
