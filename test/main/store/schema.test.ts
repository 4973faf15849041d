import { describe, expect, it } from 'vitest';
import {
  InvalidMetadataError,
  NewerSchemaError,
  SCHEMA_VERSION,
  emptyMetadata,
  metadataSchema,
  parseMetadata,
  versionOf,
} from '../../../main/store/schema.js';

const AT = '2026-03-01T09:00:00.000Z';
const org = (tenantId: string) => ({ tenantId, name: 'Acme Ltd', tenantType: 'ORGANISATION', firstSeenAt: AT });

describe('metadata schema', () => {
  it('emptyMetadata() is a valid current document', () => {
    const doc = emptyMetadata();
    expect(doc.schemaVersion).toBe(SCHEMA_VERSION);
    expect(metadataSchema.safeParse(doc).success).toBe(true);
  });

  it('refuses a record whose key differs from the id it holds', () => {
    const doc = { ...emptyMetadata(), organisations: { 't-1': org('t-2') } };
    const parsed = metadataSchema.safeParse(doc);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['organisations', 't-1']);
  });

  it('refuses unknown top-level fields (a typo must not be written and forgotten)', () => {
    expect(metadataSchema.safeParse({ ...emptyMetadata(), grnats: {} }).success).toBe(false);
  });

  it('knows the version of current, v1, v0-by-shape, explicit v0 and future documents, and nothing else', () => {
    expect(versionOf(emptyMetadata())).toBe(SCHEMA_VERSION);
    expect(versionOf({ schemaVersion: 1 })).toBe(1);
    expect(versionOf({ apps: [] })).toBe(0);
    expect(versionOf({ schemaVersion: 0 })).toBe(0);
    expect(versionOf({ schemaVersion: 5 })).toBe(5);
    expect(versionOf({})).toBeNull();
    expect(versionOf({ apps: {} })).toBeNull();
    expect(versionOf({ schemaVersion: '1' })).toBeNull();
    expect(versionOf([])).toBeNull();
    expect(versionOf(null)).toBeNull();
  });

  it('parseMetadata migrates v0 arrays into records keyed by id', () => {
    const { doc, fromVersion } = parseMetadata({ apps: [], organisations: [org('t-1'), org('t-2')] }, '/x/relink.json');
    expect(fromVersion).toBe(0);
    expect(Object.keys(doc.organisations)).toEqual(['t-1', 't-2']);
    expect(doc.revision).toBe(0);
  });

  it('parseMetadata refuses newer versions with NewerSchemaError naming the file', () => {
    expect(() => parseMetadata({ schemaVersion: SCHEMA_VERSION + 1 }, '/data/relink.json')).toThrow(NewerSchemaError);
    expect(() => parseMetadata({ schemaVersion: SCHEMA_VERSION + 1 }, '/data/relink.json')).toThrow(/\/data\/relink\.json/);
  });

  it('parseMetadata reports where an invalid document is wrong, without quoting values', () => {
    const doc = { ...emptyMetadata(), settings: { ...emptyMetadata().settings, probeIntervalMinutes: 'secret-ish-value' } };
    let error: unknown;
    try {
      parseMetadata(doc, '/x');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidMetadataError);
    expect((error as Error).message).toMatch(/settings\.probeIntervalMinutes/);
    expect((error as Error).message).not.toContain('secret-ish-value');
  });
});
