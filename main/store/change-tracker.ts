import { DOCUMENT_COLLECTIONS, type CommitEvent, type DocumentCollection, type Mutator } from './ports.js';
import type { MetadataDocument } from './schema.js';

/**
 * Runs a mutator and says what it changed (the commit event's content), by watching it work rather than by
 * comparing documents: a copy of a 10,000-connection document per update, or a walk over it, would cost more
 * than the engine's hundreds of small updates a second can afford.
 *
 * The mutator is given the document behind proxies. Every object it reaches is wrapped, and each wrapper
 * knows which record it belongs to — `doc.grants[id]`, and anything inside that record. A write or delete
 * anywhere in a record names the record; replacing a whole collection names the ids whose records differ; a
 * write to `settings` sets `settings`. Values written are unwrapped (deeply), so no proxy is ever stored in
 * the document.
 *
 * Wrappers are made when first reached and kept (weakly, per object) for later updates: a reconciliation
 * loops over every connection, and making 10,000 proxies per loop cost four times the loop itself. A kept
 * wrapper reports to whichever update is running; outside one it reports nothing.
 *
 * Only the first application of a mutator (on the live document) is watched; the store's replays on a rebase
 * or after a failed validation run it bare, on the same ids.
 */

const COLLECTIONS = new Set<string | symbol>(DOCUMENT_COLLECTIONS);
const own = (o: object, key: string | symbol) => Object.prototype.hasOwnProperty.call(o, key);

interface Session {
  changed: Map<DocumentCollection, Set<string>>;
  settings: boolean;
}

export class ChangeTracker {
  #session: Session | null = null;
  /** wrapper → the object it wraps, for unwrapping values written. */
  readonly #targets = new WeakMap<object, object>();
  /** The wrapper of each document and collection (records: see #wrapCollection; nested objects: #wrapNested). */
  readonly #wrappers = new WeakMap<object, object>();

  apply(doc: MetadataDocument, mutator: Mutator): CommitEvent {
    const outer = this.#session;
    const session: Session = { changed: new Map(), settings: false };
    this.#session = session;
    try {
      mutator(this.#wrapDocument(doc));
    } finally {
      this.#session = outer;
    }
    const ids: Partial<Record<DocumentCollection, string[]>> = {};
    for (const [collection, set] of session.changed) ids[collection] = [...set];
    return { ids, settings: session.settings };
  }

  #note(collection: DocumentCollection, id: string): void {
    const changed = this.#session?.changed;
    if (!changed) return;
    let ids = changed.get(collection);
    if (!ids) changed.set(collection, (ids = new Set()));
    ids.add(id);
  }

  #noteSettings(): void {
    if (this.#session) this.#session.settings = true;
  }

  #unwrap(value: unknown): unknown {
    return unwrapDeep(value, this.#targets);
  }

  #cached<T extends object>(target: T, make: () => T): T {
    const known = this.#wrappers.get(target);
    if (known) return known as T;
    const proxy = make();
    this.#wrappers.set(target, proxy);
    this.#targets.set(proxy, target);
    return proxy;
  }

  #wrapDocument(doc: MetadataDocument): MetadataDocument {
    return this.#cached(doc, () => {
      const settingsWrite = () => this.#noteSettings();
      const settingsCache = new WeakMap<object, object>();
      const proxy: MetadataDocument = new Proxy(doc, {
        get: (t, key, receiver) => {
          const value = Reflect.get(t, key, receiver === proxy ? t : receiver);
          if (!isObject(value)) return value;
          if (COLLECTIONS.has(key)) return this.#wrapCollection(key as DocumentCollection, value as Record<string, unknown>);
          return this.#wrapNested(value, settingsWrite, settingsCache);
        },
        set: (t, key, value) => {
          const next = this.#unwrap(value);
          if (COLLECTIONS.has(key)) {
            // A whole collection replaced (`d.incidents = …`): name the records that differ, not every record.
            const before = ((t as unknown as Record<string | symbol, unknown>)[key] ?? {}) as Record<string, unknown>;
            const after = (isObject(next) ? next : {}) as Record<string, unknown>;
            for (const id of new Set([...Object.keys(before), ...Object.keys(after)])) {
              if (!sameJson(before[id], after[id])) this.#note(key as DocumentCollection, id);
            }
          } else if (key === 'settings') {
            this.#noteSettings();
          }
          return Reflect.set(t, key, next);
        },
      });
      return proxy;
    });
  }

  /** `doc.<collection>`: adding, replacing or deleting a record names it; each record is wrapped with its id. */
  #wrapCollection(collection: DocumentCollection, target: Record<string, unknown>): Record<string, unknown> {
    return this.#cached(target, () => {
      // id → the record last wrapped under that id and its wrapper: the hot path (a loop over every
      // connection) is one Map lookup and one comparison per record.
      const records = new Map<string, { record: object; proxy: object }>();
      const proxy: Record<string, unknown> = new Proxy(target, {
        get: (t, key) => {
          const value = (t as Record<string | symbol, unknown>)[key];
          if (typeof value !== 'object' || value === null || typeof key !== 'string' || key === '__proto__') return value;
          const known = records.get(key);
          if (known && known.record === value) return known.proxy;
          const wrapped = this.#wrapRecord(collection, key, value);
          records.set(key, { record: value, proxy: wrapped });
          return wrapped;
        },
        set: (t, key, value) => {
          if (typeof key === 'string') this.#note(collection, key);
          return Reflect.set(t, key, this.#unwrap(value));
        },
        deleteProperty: (t, key) => {
          if (typeof key === 'string' && own(t, key)) this.#note(collection, key);
          return Reflect.deleteProperty(t, key);
        },
        defineProperty: (t, key, descriptor) => {
          if (typeof key === 'string') this.#note(collection, key);
          return Reflect.defineProperty(t, key, this.#unwrapDescriptor(descriptor));
        },
      });
      return proxy;
    });
  }

  /** One record, reporting to its id (nested objects inside it report to the same id). */
  #wrapRecord(collection: DocumentCollection, id: string, target: object): object {
    const proxy = this.#wrapWith(target, () => this.#note(collection, id), new WeakMap());
    this.#targets.set(proxy, target);
    return proxy;
  }

  /** Inside a record (or the settings): same attribution as the record, wrappers kept per record. */
  #wrapNested(target: object, onWrite: () => void, cache: WeakMap<object, object>): object {
    const known = cache.get(target);
    if (known) return known;
    const proxy = this.#wrapWith(target, onWrite, cache);
    cache.set(target, proxy);
    this.#targets.set(proxy, target);
    return proxy;
  }

  #wrapWith(target: object, onWrite: () => void, cache: WeakMap<object, object>): object {
    const proxy: object = new Proxy(target, {
      get: (t, key) => {
        const value = (t as Record<string | symbol, unknown>)[key];
        return typeof value === 'object' && value !== null && key !== '__proto__' ? this.#wrapNested(value, onWrite, cache) : value;
      },
      set: (t, key, value) => {
        onWrite();
        return Reflect.set(t, key, this.#unwrap(value));
      },
      deleteProperty: (t, key) => {
        if (own(t, key)) onWrite();
        return Reflect.deleteProperty(t, key);
      },
      defineProperty: (t, key, descriptor) => {
        onWrite();
        return Reflect.defineProperty(t, key, this.#unwrapDescriptor(descriptor));
      },
    });
    return proxy;
  }

  #unwrapDescriptor(descriptor: PropertyDescriptor): PropertyDescriptor {
    return 'value' in descriptor ? { ...descriptor, value: this.#unwrap(descriptor.value) } : descriptor;
  }
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/** The plain value behind any wrapper, at any depth (a spread of a wrapped record holds wrapped children). */
function unwrapDeep(value: unknown, targets: WeakMap<object, object>): unknown {
  if (!isObject(value)) return value;
  const target = targets.get(value) ?? value;
  if (Array.isArray(target)) {
    for (let i = 0; i < target.length; i++) {
      const child: unknown = target[i];
      if (isObject(child)) target[i] = unwrapDeep(child, targets);
    }
  } else {
    for (const key of Object.keys(target)) {
      const child = (target as Record<string, unknown>)[key];
      if (isObject(child)) (target as Record<string, unknown>)[key] = unwrapDeep(child, targets);
    }
  }
  return target;
}

/** Records are JSON data (the schema says so), so comparing their JSON is comparing their content. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
