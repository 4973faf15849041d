import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { createFileLock } from '../../../main/store/file-lock.js';
import { MetadataStore } from '../../../main/store/metadata-store.js';
import { InvalidMetadataError, SCHEMA_VERSION, metadataSchema, migrations, parseMetadata, validateMetadataLight } from '../../../main/store/schema.js';

/**
 * Schema 1 → 2 (issue 5, firm workflows): the tracked inventory, declared password changes, reconnect plans and
 * offboarding records start empty, settings gain `firmName`, and everything a version-1 file held is kept.
 */

const AT = '2026-03-01T09:00:00.000Z';

/** A realistic version-1 file, exactly as the previous Relink wrote it. */
function v1Document() {
  return {
    schemaVersion: 1,
    revision: 41,
    apps: {
      'practice-sync': {
        id: 'practice-sync',
        name: 'Practice Sync',
        provider: 'xero',
        clientId: '1344E98C0A6B4E2F9E0D7C2B1A3F4E5D',
        authType: 'pkce',
        issuer: 'https://identity.xero.com',
        apiBase: 'https://api.xero.com',
        redirectPorts: [5001, 5002],
        scopes: ['openid', 'profile', 'email', 'offline_access', 'accounting.settings'],
        connectionCap: null,
        multiOrgConsent: true,
        createdBy: 'tom@harbourfinch.example',
        createdAt: AT,
      },
    },
    staff: { 'u-jane': { id: 'u-jane', email: 'jane@harbourfinch.example', name: 'Jane Doe', status: 'active', firstSeenAt: AT } },
    organisations: { 't-1': { tenantId: 't-1', name: 'Acme Ltd', tenantType: 'ORGANISATION', firstSeenAt: AT } },
    grants: {
      'g-1': {
        id: 'g-1',
        appId: 'practice-sync',
        staffId: 'u-jane',
        scopes: ['offline_access'],
        authEventIds: ['ae-1'],
        connectedAt: AT,
        refreshTokenIssuedAt: AT,
        lastRefreshAt: AT,
        lastProbeAt: null,
        consecutiveFailures: 0,
        lastFailure: null,
        state: 'revoked',
        stateSince: AT,
      },
    },
    connections: {
      'c-1': {
        id: 'c-1',
        appId: 'practice-sync',
        grantId: 'g-1',
        staffId: 'u-jane',
        tenantId: 't-1',
        authEventId: 'ae-1',
        createdDateUtc: '2026-03-01T09:00:00.0000000',
        updatedDateUtc: '2026-03-01T09:00:00.0000000',
        present: true,
        lastSeenAt: AT,
        missingSince: null,
        lastApiFailure: null,
      },
    },
    incidents: {
      'i-1': {
        id: 'i-1',
        key: 'password-changed:staff:u-jane',
        cause: 'password-changed',
        confidence: 'likely',
        staffId: 'u-jane',
        appId: 'practice-sync',
        tenantIds: ['t-1'],
        connectionIds: ['c-1'],
        summary: "Jane Doe's Xero password probably changed — 1 app, 1 organisation",
        evidence: ['…'],
        fix: { text: 'Reconnect as Jane Doe', action: 'reconnect' },
        openedAt: AT,
        closedAt: null,
        reopenedAt: null,
      },
    },
    settings: { probeIntervalMinutes: 30, keepAliveHours: 24, expiringAfterDays: 45, notifications: false },
  };
}

describe('metadata schema 1 → 2', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-migrate-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the current version', () => {
    expect(SCHEMA_VERSION).toBe(2);
  });

  it('keeps everything a version-1 document held, adds the empty workflow collections and the firm name', () => {
    const v1 = v1Document();
    const { doc, fromVersion } = parseMetadata(structuredClone(v1), '/data/relink.json');
    expect(fromVersion).toBe(1);
    expect(doc.schemaVersion).toBe(2);
    const { schemaVersion: _a, tracked, passwordChanges, reconnectRuns, offboardings, settings, ...kept } = doc;
    const { schemaVersion: _b, settings: oldSettings, ...original } = v1;
    expect(kept).toEqual(original);
    expect(settings).toEqual({ ...oldSettings, firmName: 'Your firm', advisorName: '' });
    expect({ tracked, passwordChanges, reconnectRuns, offboardings }).toEqual({ tracked: {}, passwordChanges: {}, reconnectRuns: {}, offboardings: {} });
  });

  it('the step is pure and deterministic, and keeps a firm name that is already there', () => {
    const v1 = v1Document();
    const before = structuredClone(v1);
    const a = migrations[1]!(v1);
    expect(v1).toEqual(before);
    expect(migrations[1]!(structuredClone(before))).toEqual(a);
    const named = migrations[1]!({ ...before, settings: { ...before.settings, firmName: 'Harbour & Finch' } });
    expect((named.settings as { firmName: string }).firmName).toBe('Harbour & Finch');
  });

  it('a v0 document goes through both steps', () => {
    const { doc, fromVersion } = parseMetadata({ apps: [], organisations: [{ tenantId: 't-1', name: 'Acme', tenantType: 'ORGANISATION', firstSeenAt: AT }] }, '/x');
    expect(fromVersion).toBe(0);
    expect(doc).toMatchObject({ schemaVersion: 2, tracked: {}, offboardings: {}, settings: { firmName: 'Your firm' } });
    expect(Object.keys(doc.organisations)).toEqual(['t-1']);
  });

  it('a damaged version-2 collection is refused like any damage (where, never the value)', () => {
    const bad = { ...parseMetadata(v1Document(), '/x').doc, tracked: { 't-1': { id: 't-2', secretish: 'do-not-echo-me' } } };
    expect(() => parseMetadata(bad, '/x')).toThrow(InvalidMetadataError);
    expect(() => parseMetadata(bad, '/x')).toThrow(/tracked\.t-1/);
    expect(() => parseMetadata(bad, '/x')).not.toThrow(/do-not-echo-me/);
  });

  it('the light validation copies the tracked inventory instead of sharing it', () => {
    const doc = parseMetadata(v1Document(), '/x').doc;
    doc.tracked.t = {
      id: 't',
      tenantId: 't-1',
      app: 'Gusto',
      authorisedBy: 'u-jane',
      reconnectUrl: null,
      notes: '',
      source: 'manual',
      createdAt: AT,
      confirmedAt: null,
      confirmedBy: null,
      history: [],
    };
    const copy = validateMetadataLight(doc);
    expect(copy.tracked).toEqual(doc.tracked);
    copy.tracked.t!.history.push({ at: AT, action: 'reconnected', by: 'cli', fromStaffId: null, toStaffId: null });
    expect(doc.tracked.t!.history).toEqual([]);
    expect(metadataSchema.safeParse(copy).success).toBe(true);
  });

  it('a store opening a version-1 file reads it migrated and writes version 2 with its next change', async () => {
    fs.writeFileSync(path.join(dir, 'relink.json'), JSON.stringify(v1Document()));
    const store = new MetadataStore(new ConfBackend(dir), new SystemClock(), createFileLock(), { coalesceMs: 10 });
    const opened = await store.open();
    expect(opened).toMatchObject({ source: 'file', fromVersion: 1, recovery: null });
    expect(store.get().grants['g-1']?.state).toBe('revoked');
    // Untouched until something changes: an older Relink can still read it meanwhile.
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8')).schemaVersion).toBe(1);
    await store.update((d) => {
      d.passwordChanges.p = { id: 'p', staffId: 'u-jane', declaredAt: AT, declaredBy: 'cli' };
    }, { durable: true });
    await store.close();
    const disk = JSON.parse(fs.readFileSync(path.join(dir, 'relink.json'), 'utf8'));
    expect(disk).toMatchObject({ schemaVersion: 2, revision: 42, settings: { firmName: 'Your firm', probeIntervalMinutes: 30 } });
    expect(disk.passwordChanges.p).toMatchObject({ staffId: 'u-jane' });
    expect(disk.incidents['i-1'].key).toBe('password-changed:staff:u-jane');
    expect(metadataSchema.safeParse(disk).success).toBe(true);
  });
});
