import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { types } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { applyListing } from '../../../main/service/metadata-engine-store.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { createFileLock } from '../../../main/store/file-lock.js';
import { MetadataStore } from '../../../main/store/metadata-store.js';
import type { CommitEvent, DocumentStore } from '../../../main/store/ports.js';
import { grantRecord, RECORDED_AT } from '../../support/grant-record.js';

/**
 * The document store's commit event (ports.ts): after every committed update, the store itself says which
 * records changed — derived from what the mutator did, never declared by the caller — so a listener (a window
 * push, a firm database's NOTIFY) can act on exactly those ids.
 */

const AT = RECORDED_AT;

const grant = grantRecord;

/** Every object in the document, to prove no change-tracking wrapper was ever stored in it. */
function anyProxy(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (types.isProxy(value)) return true;
  return Object.values(value).some(anyProxy);
}

describe('DocumentStore commit events (MetadataStore)', () => {
  let dir: string;
  let store: MetadataStore;
  let events: CommitEvent[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-commit-'));
    store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock(), { coalesceMs: 5 });
    await store.open();
    // Through the port's type: what a service sees.
    const port: DocumentStore = store;
    events = [];
    port.onCommit((e) => events.push(e));
  });

  afterEach(async () => {
    await store.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names the records an update adds, changes and removes, per collection, and nothing it only read', async () => {
    await store.update((d) => {
      d.grants['g-1'] = grant('g-1');
      d.grants['g-2'] = grant('g-2');
      d.grants['g-3'] = grant('g-3');
      d.staff['staff-jane'] = { id: 'staff-jane', email: 'jane@firm.example', name: 'Jane', status: 'active', firstSeenAt: AT };
    });
    expect(events).toEqual([{ ids: { grants: ['g-1', 'g-2', 'g-3'], staff: ['staff-jane'] }, settings: false }]);

    // A nested change found by looping over every grant names only the grant it changed.
    await store.update((d) => {
      for (const g of Object.values(d.grants)) if (g.id === 'g-2') g.lastFailure = { kind: 'network', detail: 'ECONNRESET', at: AT };
    });
    // Deeper still: inside the changed record's own nested object and array.
    await store.update((d) => {
      const g = d.grants['g-3'];
      if (g) g.authEventIds.push('ae-2');
    });
    // Removing one, and a delete of something that is not there (which changes nothing).
    await store.update((d) => {
      delete d.grants['g-1'];
      delete d.grants['g-gone'];
    });
    expect(events.slice(1)).toEqual([
      { ids: { grants: ['g-2'] }, settings: false },
      { ids: { grants: ['g-3'] }, settings: false },
      { ids: { grants: ['g-1'] }, settings: false },
    ]);
    expect(Object.keys(store.peek().grants).sort()).toEqual(['g-2', 'g-3']);
    expect(store.peek().grants['g-3']!.authEventIds).toEqual(['ae-1', 'ae-2']);
  });

  it('an update that changes nothing names nothing; settings are named as settings', async () => {
    await store.update((d) => void Object.values(d.grants).map((g) => g.state));
    await store.update((d) => {
      d.settings = { ...d.settings, probeIntervalMinutes: d.settings.probeIntervalMinutes + 1 };
    });
    await store.update((d) => {
      d.settings.notifications = !d.settings.notifications;
    });
    expect(events).toEqual([
      { ids: {}, settings: false },
      { ids: {}, settings: true },
      { ids: {}, settings: true },
    ]);
  });

  it('replacing a whole collection names only the records that differ', async () => {
    await store.update((d) => {
      d.grants['g-1'] = grant('g-1');
      d.grants['g-2'] = grant('g-2');
    });
    events.length = 0;
    const next = { 'g-1': grant('g-1'), 'g-2': grant('g-2', { state: 'revoked' }), 'g-9': grant('g-9') };
    await store.update((d) => {
      d.grants = structuredClone(next);
    });
    expect(events).toEqual([{ ids: { grants: ['g-2', 'g-9'] }, settings: false }]);
  });

  it('a reconciliation over several collections (a /connections listing) names each record it touched', async () => {
    await store.update((d) => {
      d.grants['g-1'] = grant('g-1');
    });
    events.length = 0;
    const listed = [{ id: 'c-1', tenantId: 't-acme', tenantName: 'Acme Ltd', tenantType: 'ORGANISATION', authEventId: 'ae-1', createdDateUtc: AT, updatedDateUtc: AT }];
    await store.update((d) => applyListing(d, 'g-1', listed, Date.parse(AT)));
    expect(events).toEqual([{ ids: { organisations: ['t-acme'], connections: ['c-1'], grants: ['g-1'] }, settings: false }]);
  });

  it('never stores a tracking wrapper: records copied from the document are plain data', async () => {
    await store.update((d) => {
      d.grants['g-1'] = grant('g-1', { lastFailure: { kind: 'network', detail: 'ECONNRESET', at: AT } });
    });
    // A spread of a record carries its nested objects along, as the mutator saw them.
    await store.update((d) => {
      const g = d.grants['g-1'];
      if (g) d.grants['g-2'] = { ...g, id: 'g-2' };
    });
    expect(events.at(-1)).toEqual({ ids: { grants: ['g-2'] }, settings: false });
    expect(anyProxy(store.peek())).toBe(false);
    expect(() => structuredClone(store.peek())).not.toThrow();
    await store.flush();
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8'));
    expect(onDisk.grants['g-2'].lastFailure).toEqual({ kind: 'network', detail: 'ECONNRESET', at: AT });
  });

  it('a mutator that throws commits nothing and announces nothing; a failing listener fails no update', async () => {
    await expect(
      store.update((d) => {
        d.grants['g-1'] = grant('g-1');
        throw new Error('half-way');
      }),
    ).rejects.toThrow('half-way');
    expect(events).toEqual([]);
    expect(store.peek().grants).toEqual({});

    const errors: Error[] = [];
    store.onError((e) => errors.push(e));
    const off = store.onCommit(() => {
      throw new Error('listener broke');
    });
    await expect(store.update((d) => void (d.grants['g-1'] = grant('g-1')))).resolves.toBeUndefined();
    off();
    expect(store.peek().grants['g-1']).toBeDefined();
    expect(events.at(-1)).toEqual({ ids: { grants: ['g-1'] }, settings: false });
    expect(errors.map((e) => e.message)).toEqual(['listener broke']);
  });

  it('a mutator re-applied on a newer document from another process still lands (the re-appliable contract)', async () => {
    await store.update((d) => void (d.grants['g-1'] = grant('g-1')), { durable: true });
    const other = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock(), { coalesceMs: 5 });
    await other.open();
    await other.update((d) => void (d.grants['g-2'] = grant('g-2')), { durable: true });
    await other.close();
    events.length = 0;
    await store.update(
      (d) => {
        const g = d.grants['g-1'];
        if (g) g.consecutiveFailures += 1;
      },
      { durable: true },
    );
    expect(events).toEqual([{ ids: { grants: ['g-1'] }, settings: false }]);
    expect(store.stats.rebases).toBe(1);
    expect(store.peek().grants['g-1']!.consecutiveFailures).toBe(1);
    expect(Object.keys(store.peek().grants).sort()).toEqual(['g-1', 'g-2']);
  });
});

describe('DocumentStore change events (MetadataStore)', () => {
  it('tell every committed update without watching the mutator: no commit listener, no wrappers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-change-'));
    const store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock(), { coalesceMs: 5 });
    await store.open();
    try {
      let changes = 0;
      const off = (store as DocumentStore).onChange(() => changes++);
      const seen: boolean[] = [];
      await store.update((d) => {
        seen.push(types.isProxy(d));
        d.grants['g-1'] = grant('g-1');
      });
      await store.update((d) => void (d.settings.keepAliveHours = 12));
      expect(changes).toBe(2);
      expect(seen).toEqual([false]);
      // A mutator that throws commits nothing, so it is not announced.
      await expect(store.update(() => { throw new Error('no'); })).rejects.toThrow('no');
      expect(changes).toBe(2);
      off();
      await store.update((d) => void (d.settings.keepAliveHours = 6));
      expect(changes).toBe(2);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
