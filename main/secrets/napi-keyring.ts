import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { redactSecrets } from '../core/redact.js';
import { KeychainError, type Keychain, type KeychainFailure } from './keychain.js';

/**
 * The real OS keychain through @napi-rs/keyring (keyring-rs): macOS Keychain, Windows Credential Manager,
 * the Secret Service (GNOME Keyring, KWallet, KeePassXC) on Linux. The only file that imports it.
 *
 * Uses the library's AsyncEntry, whose calls run on libuv's thread pool: a Secret Service call can wait on an
 * unlock prompt for as long as the user takes, and the main process must keep painting and refreshing
 * meanwhile.
 *
 * On Linux every entry is pinned to the Secret Service. Left to choose, the library silently falls back to
 * the kernel keyutils keyring when there is no session bus (an SSH session, a misconfigured desktop), and
 * that keyring lives in kernel memory: a refresh token saved there is gone at the next reboot, which would
 * quietly cost the firm a reconnect of every organisation. Pinned, a missing bus is an error we can show.
 */
export class NapiKeychain implements Keychain {
  readonly #options: EntryOptions = { linux: { store: 'secret-service' } };

  async get(service: string, account: string): Promise<string | null> {
    return this.#call('read', service, account, (entry) => entry.getPassword());
  }

  async set(service: string, account: string, value: string): Promise<void> {
    await this.#call('write', service, account, (entry) => entry.setPassword(value));
  }

  async delete(service: string, account: string): Promise<boolean> {
    return this.#call('delete', service, account, (entry) => entry.deleteCredential());
  }

  async #call<T>(op: string, service: string, account: string, run: (entry: AsyncEntry) => Promise<T>): Promise<T> {
    try {
      // The constructor throws when the pinned store cannot be reached (no D-Bus session), so it is inside
      // the try like the call itself.
      const entry = new AsyncEntry(service, account, this.#options);
      return await run(entry);
    } catch (error) {
      throw toKeychainError(error, op, account);
    }
  }
}

/**
 * Map keyring-rs's errors to what the product can say. Messages observed with @napi-rs/keyring 2.1.2 on
 * gnome-keyring 42.1 (see the report in test/main/secrets/napi-keyring.test.ts); the library gives every
 * error the code `GenericFailure`, so the text is all there is to go on:
 *
 * - locked collection, no display for the unlock prompt (read, write or delete of an existing entry):
 *   "Couldn't access platform storage: Secret Service: unlock prompt was dismissed"
 * - no session bus at all, entry pinned to the Secret Service (thrown by the constructor):
 *   "Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set
 *   your DBUS_SESSION_BUS_ADDRESS instead"
 * - no session bus, unpinned (keyutils fallback): reads return null, writes throw
 *   "Couldn't access platform storage: AccessDenied"
 * - a bus whose Secret Service has no default collection (daemon auto-activated without a login keyring):
 *   writes throw "Couldn't access platform storage: Secret Service: no result found", reads return null
 * - over a platform limit (Windows): "Attribute 'password' is longer than the platform limit of N chars"
 *
 * The library's text never contains the secret (only attribute names and D-Bus errors), but it is scrubbed
 * anyway before it goes into a message.
 */
export function toKeychainError(error: unknown, op: string, account: string): KeychainError {
  if (error instanceof KeychainError) return error;
  const detail = redactSecrets(error instanceof Error ? error.message : String(error));
  const kind = classifyKeychainMessage(detail);
  return new KeychainError(kind, `Keychain ${op} of "${account}" failed (${describe(kind)}): ${detail}`);
}

export function classifyKeychainMessage(message: string): KeychainFailure {
  const m = message.toLowerCase();
  if (m.includes('longer than the platform limit') || m.includes('too long') || m.includes('stub received bad data')) {
    return 'too-large';
  }
  if (
    m.includes('unlock prompt was dismissed') ||
    m.includes('prompt dismissed') ||
    m.includes('object locked') ||
    m.includes('locked collection') ||
    m.includes('connection closed before prompt completed') ||
    // macOS: errSecInteractionNotAllowed / errSecAuthFailed / the user pressed Deny.
    m.includes('interaction is not allowed') ||
    m.includes('user canceled') ||
    m.includes('user cancelled') ||
    m.includes('passphrase you entered is not correct')
  ) {
    return 'locked';
  }
  if (
    m.includes('platform failure') ||
    m.includes("couldn't access platform storage") ||
    m.includes('dbus') ||
    m.includes('d-bus') ||
    m.includes('secret service') ||
    m.includes('no result found') ||
    m.includes('accessdenied') ||
    m.includes('no default store')
  ) {
    return 'unavailable';
  }
  return 'failed';
}

function describe(kind: KeychainFailure): string {
  switch (kind) {
    case 'locked':
      return 'the keychain is locked';
    case 'unavailable':
      return 'the keychain is not available';
    case 'not-answering':
      return 'the keychain is not answering';
    case 'too-large':
      return 'the value is too large for the keychain';
    case 'failed':
      return 'unexpected keychain error';
  }
}
