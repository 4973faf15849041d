import { KeychainError, type Keychain } from './keychain.js';

/**
 * An in-memory Keychain for unit tests of services, switchable into the failure modes the real keychains
 * have (security-anchors §4.3, §5 #14–#15):
 *
 * - `available`: a normal keychain.
 * - `locked`: every call throws KeychainError('locked'), as gnome-keyring does when the unlock prompt
 *   cannot be shown.
 * - `unavailable`: every call throws KeychainError('unavailable') (no Secret Service, no D-Bus).
 * - `fail-writes`: reads and deletes work, writes throw KeychainError('failed').
 * - `fail-reads-as-null`: writes and deletes "succeed", every read answers null: the no-session-bus trap in
 *   which "not found" is a lie. Only a read-back or the canary probe notices.
 *
 * Counts every call (also the failed ones) so tests can assert how often the keychain was asked.
 */
export type MemoryKeychainState = 'available' | 'locked' | 'unavailable' | 'fail-writes' | 'fail-reads-as-null';

export interface KeychainCalls {
  get: number;
  set: number;
  delete: number;
}

export class MemoryKeychain implements Keychain {
  state: MemoryKeychainState = 'available';
  readonly calls: KeychainCalls = { get: 0, set: 0, delete: 0 };
  /** Keyed by `service\0account`; exposed so tests can damage an entry the way another program could. */
  readonly entries = new Map<string, string>();
  /** Emulates a platform cap (Windows: 1,280 UTF-16 characters with keyring-rs); unlimited when undefined. */
  maxValueLength: number | undefined;

  constructor(opts: { maxValueLength?: number } = {}) {
    this.maxValueLength = opts.maxValueLength;
  }

  async get(service: string, account: string): Promise<string | null> {
    this.calls.get++;
    this.#throwIfDown();
    if (this.state === 'fail-reads-as-null') return null;
    return this.entries.get(key(service, account)) ?? null;
  }

  async set(service: string, account: string, value: string): Promise<void> {
    this.calls.set++;
    this.#throwIfDown();
    if (this.state === 'fail-writes') throw new KeychainError('failed', 'Memory keychain: writes are failing');
    if (this.maxValueLength !== undefined && value.length > this.maxValueLength) {
      throw new KeychainError('too-large', `Memory keychain: value is longer than the platform limit of ${this.maxValueLength} chars`);
    }
    this.entries.set(key(service, account), value);
  }

  async delete(service: string, account: string): Promise<boolean> {
    this.calls.delete++;
    this.#throwIfDown();
    return this.entries.delete(key(service, account));
  }

  /** Direct access for tests, bypassing state and counters. */
  peek(service: string, account: string): string | undefined {
    return this.entries.get(key(service, account));
  }

  poke(service: string, account: string, value: string): void {
    this.entries.set(key(service, account), value);
  }

  /** Accounts stored under a service, for asserting how many entries exist. */
  accounts(service: string): string[] {
    const prefix = `${service}\0`;
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  resetCalls(): void {
    this.calls.get = this.calls.set = this.calls.delete = 0;
  }

  #throwIfDown(): void {
    if (this.state === 'locked') throw new KeychainError('locked', 'Memory keychain: unlock prompt was dismissed');
    if (this.state === 'unavailable') throw new KeychainError('unavailable', 'Memory keychain: no Secret Service');
  }
}

const key = (service: string, account: string) => `${service}\0${account}`;
