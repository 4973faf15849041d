/**
 * The OS keychain as a port: the only thing services know about secret storage. One adapter file talks to
 * the real keychain (napi-keyring.ts); tests of services use memory-keychain.ts.
 *
 * Reads distinguish "no such entry" (null) from "could not ask" (KeychainError): on Linux without a session
 * bus, libsecret returns nothing at all, and treating that as "no token" would lose connections.
 */
export interface Keychain {
  get(service: string, account: string): Promise<string | null>;
  set(service: string, account: string, value: string): Promise<void>;
  /** True when an entry was deleted, false when there was none. */
  delete(service: string, account: string): Promise<boolean>;
}

/**
 * `not-answering`: the call was given up after its deadline (the Secret Service daemon died or hung mid-call,
 * or an unlock prompt stayed unanswered). Nothing is known to have changed; it is retried like `locked`.
 */
export type KeychainFailure = 'locked' | 'unavailable' | 'not-answering' | 'too-large' | 'failed';

export class KeychainError extends Error {
  constructor(
    readonly kind: KeychainFailure,
    message: string,
  ) {
    super(message);
    this.name = 'KeychainError';
  }
}

/** The keychain's state as the product shows it: never a silent "no token". */
export type KeychainState = 'available' | 'locked' | 'unavailable' | 'not-answering';

/** The failures that say something about the keychain as a whole (rather than about one entry or value). */
export const isKeychainDown = (kind: KeychainFailure): kind is Exclude<KeychainState, 'available'> =>
  kind === 'locked' || kind === 'unavailable' || kind === 'not-answering';
