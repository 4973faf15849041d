/**
 * At most one in-flight call per key in this process (security-anchors §3 H1): two refreshes of one grant
 * with the same refresh token make the second one fail with invalid_grant, and under reuse detection can
 * revoke the whole token family. Callers that arrive while a refresh is running share its promise.
 *
 * The entry is removed only after the promise settles, and before any caller sees the result, so a caller
 * that reacts to the result by calling `run` again starts a fresh call instead of getting the old outcome.
 *
 * IMPORTANT for `fn`: a caller that arrives one millisecond after the entry is gone starts a NEW call, so
 * `fn` must read the current state (the stored refresh token, the grant's metadata) from the store when it
 * starts — never use a token or grant object captured before `run` was called. The previous flight has just
 * rotated the refresh token; a captured copy is the consumed one (akash-network/console PR #3581).
 *
 * This only deduplicates within one process; the cross-process lock (grant-lock.ts) covers the rest.
 * `fn` must not call `run` for its own key (it would wait for itself forever).
 */
export class SingleFlight<K, T> {
  readonly #inFlight = new Map<K, Promise<T>>();

  /** The in-flight promise for `key` if there is one, else the promise of a new call to `fn`. */
  run(key: K, fn: () => Promise<T> | T): Promise<T> {
    const existing = this.#inFlight.get(key);
    if (existing) return existing;
    // Invoke fn asynchronously-safe: a synchronous throw becomes a rejection like any other failure.
    let started: Promise<T>;
    try {
      started = Promise.resolve(fn());
    } catch (err) {
      started = Promise.reject(err);
    }
    // Callers get `shared`, which settles only after the entry is deleted (finally runs first, then passes
    // the original outcome through).
    const shared = started.finally(() => {
      if (this.#inFlight.get(key) === shared) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, shared);
    return shared;
  }

  /** Whether a call for `key` is in flight right now. */
  has(key: K): boolean {
    return this.#inFlight.has(key);
  }

  /** Number of keys in flight. */
  get size(): number {
    return this.#inFlight.size;
  }
}
