import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { FirmDocumentStore } from '../../../../main/firm/db/firm-document-store.js';
import { migrateFirmDatabase } from '../../../../main/firm/db/migrate.js';
import { describePostgres, until } from '../../../support/firm-postgres.js';
import { JANE, seededApp, seededGrant, seededStaff } from '../../../support/seeded-metadata.js';

/**
 * Same-record conflicts between two desktops: optimistic concurrency on each row's `revision` and a rebase that
 * re-applies the pending mutators on the other desktop's version (firm-document-store.ts, CONFLICTS), so no
 * desktop's committed change to a record is lost by another writing it from an older copy.
 */


describePostgres('the firm document store: same-record conflicts are rebased, not lost', (db) => {
  let admin: Pool;
  let a: FirmDocumentStore;
  let b: FirmDocumentStore;
  const errorsA: Error[] = [];
  const errorsB: Error[] = [];

  const desktop = async () => {
    const { pool } = await db().desktop();
    const store = new FirmDocumentStore({ db: pool, coalesceMs: 5, maxRetryDelayMs: 200 });
    await store.open();
    return store;
  };
  /** A committed change to a grant's record (its revision bumped) that no desktop is told about. */
  const behindTheirBacks = async (id: string, patch: Record<string, unknown>) => {
    const { rowCount } = await admin.query(
      "UPDATE relink.grants SET record = record || $2::jsonb, state = (record || $2::jsonb)->>'state', revision = revision + 1 WHERE id = $1",
      [id, JSON.stringify(patch)],
    );
    expect(rowCount).toBe(1);
  };
  const row = async (id: string) => (await admin.query("SELECT record, revision::int AS revision FROM relink.grants WHERE id = $1", [id])).rows[0];

  beforeAll(async () => {
    admin = db().admin();
    expect(await migrateFirmDatabase(admin)).toMatchObject({ ok: true, version: 1 });
    await admin.query("INSERT INTO relink.firm (id, name) VALUES (gen_random_uuid(), 'Harbour & Finch')");
    a = await desktop();
    b = await desktop();
    a.onError((e) => errorsA.push(e));
    b.onError((e) => errorsB.push(e));
    await a.update(
      (d) => {
        d.apps['app-1'] = seededApp('app-1', 'Practice sync');
        d.staff[JANE] = seededStaff(JANE, 'jane@firm.example', 'Jane');
        for (const id of ['g-count', 'g-fields', 'g-throw', 'g-del', 'g-hot']) d.grants[id] = seededGrant(id, 'app-1', JANE);
      },
      { durable: true },
    );
    await until('B has the grants', () => b.peek().grants['g-del']);
  });

  afterAll(async () => {
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
  });

  it('A and B each increment one grant’s consecutiveFailures 20 times at once: 40 on both, and in the database', async () => {
    const increment = (d: Parameters<Parameters<FirmDocumentStore['update']>[0]>[0]) => {
      const g = d.grants['g-count'];
      if (g) g.consecutiveFailures += 1;
    };
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(a.update(increment), b.update(increment));
      // Spread over several batches on each side, so that both desktops write while the other's writes land.
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 7));
    }
    await Promise.all(jobs);
    await Promise.all([a.flush(), b.flush()]);
    await until('40 on both', () => a.peek().grants['g-count']?.consecutiveFailures === 40 && b.peek().grants['g-count']?.consecutiveFailures === 40);
    expect((await row('g-count')).record.consecutiveFailures).toBe(40);
    expect(a.stats.rebases + b.stats.rebases).toBeGreaterThan(0);
    expect([...errorsA, ...errorsB]).toEqual([]);
  });

  it('A changes one field and B another of the same record at once: both changes survive', async () => {
    const before = (await row('g-fields')).revision;
    await Promise.all([
      a.update((d) => void (d.grants['g-fields'] && (d.grants['g-fields'].lastProbeAt = '2026-05-01T00:00:00.000Z')), { durable: true }),
      b.update((d) => void (d.grants['g-fields'] && (d.grants['g-fields'].scopes = ['accounting.transactions'])), { durable: true }),
    ]);
    const { record, revision } = await row('g-fields');
    expect(record.lastProbeAt).toBe('2026-05-01T00:00:00.000Z');
    expect(record.scopes).toEqual(['accounting.transactions']);
    expect(revision).toBe(before + 2);
    for (const s of [a, b]) {
      await until('both fields on each desktop', () => s.peek().grants['g-fields']?.lastProbeAt === '2026-05-01T00:00:00.000Z' && s.peek().grants['g-fields']?.scopes[0] === 'accounting.transactions');
    }
  });

  it('a mutator that throws when re-applied on the newer record is dropped and reported; the other pending updates land', async () => {
    // Another desktop revokes the grant and commits without announcing it (as a rotation commit's record patch
    // can), so B certainly writes from its old copy and conflicts.
    await behindTheirBacks('g-throw', { state: 'revoked' });
    const errors = errorsB.length;
    const rebases = b.stats.rebases;
    const first = b.update((d) => void (d.grants['g-throw'] && (d.grants['g-throw'].consecutiveFailures += 5)));
    const picky = b.update((d) => {
      const g = d.grants['g-throw'];
      if (g?.state === 'revoked') throw new Error('refusing to touch a revoked grant');
      if (g) g.lastProbeAt = '2026-06-01T00:00:00.000Z';
    });
    const last = b.update((d) => void (d.grants['g-throw'] && (d.grants['g-throw'].scopes = ['payroll'])));
    await Promise.all([first, picky, last]);
    await b.flush();
    expect(b.stats.rebases).toBeGreaterThan(rebases);
    await until('B reported the dropped update', () => errorsB.slice(errors).some((e) => /re-applied[\s\S]*refusing to touch a revoked grant/.test(e.message)));
    const { record } = await row('g-throw');
    expect(record).toMatchObject({ state: 'revoked', consecutiveFailures: 5, scopes: ['payroll'] });
    expect(record.lastProbeAt).not.toBe('2026-06-01T00:00:00.000Z');
    await until('A has B’s changes on its own', () => a.peek().grants['g-throw']?.consecutiveFailures === 5 && a.peek().grants['g-throw']?.scopes[0] === 'payroll');
    expect(b.peek().grants['g-throw']).toMatchObject({ state: 'revoked', consecutiveFailures: 5, scopes: ['payroll'] });
  });

  it('a delete of a record another desktop changed meanwhile is re-applied on the newer record (deleted), and stays deleted on both', async () => {
    await behindTheirBacks('g-del', { consecutiveFailures: 3 });
    const rebases = b.stats.rebases;
    await b.update((d) => void delete d.grants['g-del'], { durable: true });
    expect(b.stats.rebases).toBeGreaterThan(rebases);
    expect(await row('g-del')).toBeUndefined();
    await until('gone on A', () => !a.peek().grants['g-del']);
    expect(b.peek().grants['g-del']).toBeUndefined();
  });

  it('a record that keeps changing under a desktop: bounded rebases, then a clear onError; the change is kept and lands once it calms down', async () => {
    const { pool } = await db().desktop();
    let interfere = true;
    // Every transaction this desktop starts finds the grant changed once more by someone else first.
    const busy = {
      connect: async () => {
        if (interfere) await admin.query("UPDATE relink.grants SET revision = revision + 1 WHERE id = 'g-hot'");
        return pool.connect();
      },
      end: () => pool.end(),
    };
    const c = new FirmDocumentStore({ db: busy, coalesceMs: 5, maxRetryDelayMs: 100 });
    const errors: Error[] = [];
    c.onError((e) => errors.push(e));
    await c.open();
    try {
      const durable = c.update((d) => void (d.grants['g-hot']!.consecutiveFailures += 2), { durable: true });
      await expect(durable).rejects.toThrow(/other desktops kept changing the same records \(8 rebases\)/);
      expect(errors.some((e) => /kept changing the same records/.test(e.message))).toBe(true);
      expect(c.pending).toBe(true);
      expect(c.peek().grants['g-hot']?.consecutiveFailures).toBe(2);
      interfere = false;
      await until('written once it calmed down', () => !c.pending);
      expect((await row('g-hot')).record.consecutiveFailures).toBe(2);
    } finally {
      interfere = false;
      await c.close();
    }
  });
});
