import { describe, expect, it } from 'vitest';
import { FirmAddressError, describeFirmDatabase, readFirmDatabaseAddress } from '../../../../main/firm/db/connection-config.js';
import { createFirmPool } from '../../../../main/firm/db/pool.js';

describe('the firm database address', () => {
  it('reads user, host, port and database; a remote host gets verify-full TLS unless the address says otherwise', () => {
    const s = readFirmDatabaseAddress('postgres://relink@db.firm.local/relink');
    expect(s).toMatchObject({ host: 'db.firm.local', port: 5432, database: 'relink', user: 'relink', password: null, sslMode: 'verify-full' });
    expect(readFirmDatabaseAddress('postgresql://relink@127.0.0.1:6543/firm').sslMode).toBe('disable');
    expect(readFirmDatabaseAddress('postgres:///firm?host=/var/run/postgresql&user=relink')).toMatchObject({ host: '/var/run/postgresql', user: 'relink', sslMode: 'disable' });
    expect(readFirmDatabaseAddress('postgres://relink@%2Fvar%2Frun%2Fpostgresql/firm')).toMatchObject({ host: '/var/run/postgresql', user: 'relink', sslMode: 'disable' });
    expect(describeFirmDatabase(readFirmDatabaseAddress('postgres:///firm?host=/tmp/pg&user=relink'))).toBe('relink@socket:/tmp/pg/firm (no TLS)');
    expect(readFirmDatabaseAddress('postgres://relink@db/firm?sslmode=require').sslMode).toBe('require');
    expect(readFirmDatabaseAddress('postgres://relink@db/firm?sslmode=verify-full&sslrootcert=/etc/ca.pem').sslRootCertPath).toBe('/etc/ca.pem');
  });

  it('never shows a password: the description names user, server, database and TLS only', () => {
    const s = readFirmDatabaseAddress('postgres://relink:hunter2-very-secret@db.firm.local:5433/relink?sslmode=verify-full');
    expect(s.password).toBe('hunter2-very-secret');
    const shown = describeFirmDatabase(s);
    expect(shown).toBe('relink@db.firm.local:5433/relink (TLS verify-full)');
    expect(shown).not.toContain('hunter2');
    const { description, pool } = createFirmPool({ address: 'postgres://relink:hunter2-very-secret@db.firm.local/relink', password: 'from-keychain' });
    expect(description).not.toContain('hunter2');
    expect(description).not.toContain('from-keychain');
    void pool.end();
  });

  it('refuses what it cannot honour, in a sentence: other schemes, unknown settings, prefer/allow, no database or user', () => {
    const refused = (a: string) => {
      try {
        readFirmDatabaseAddress(a);
      } catch (e) {
        expect(e).toBeInstanceOf(FirmAddressError);
        return (e as Error).message;
      }
      throw new Error(`accepted ${a}`);
    };
    expect(refused('mysql://relink@db/relink')).toMatch(/must start with postgres:\/\//);
    expect(refused('postgres://relink@db/relink?options=-c%20relink.code_schema%3D99')).toMatch(/setting Relink does not use \("options"\)/);
    expect(refused('postgres://relink@db/relink?sslmode=prefer')).toMatch(/sslmode=prefer is not supported; use verify-full/);
    expect(refused('postgres://relink@db/')).toMatch(/names no database/);
    expect(refused('postgres://db/relink')).toMatch(/names no user/);
    expect(refused('not an address')).toMatch(/not a valid address/);
  });

  it('the pool takes the password separately and sends the schema version on every session', () => {
    const { pool } = createFirmPool({ address: 'postgres://relink@127.0.0.1:1/relink', password: 'kc-secret', codeSchemaVersion: 7 });
    const options = (pool as unknown as { options: Record<string, unknown> }).options;
    expect(options.password).toBe('kc-secret');
    expect(options.options).toBe('-c relink.code_schema=7');
    expect(options.ssl).toBe(false);
    void pool.end();
    const remote = createFirmPool({ address: 'postgres://relink@db.firm.local/relink' }).pool;
    expect((remote as unknown as { options: { ssl: unknown } }).options.ssl).toMatchObject({ rejectUnauthorized: true });
    void remote.end();
  });

  it('TLS options pass through over what sslmode says; an unreadable sslrootcert is refused in a sentence', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const { pool } = createFirmPool({ address: 'postgres://relink@db.firm.local/relink?sslmode=verify-ca', tls: { ca, servername: 'db.firm.local' } });
    const ssl = (pool as unknown as { options: { ssl: Record<string, unknown> } }).options.ssl;
    expect(ssl).toMatchObject({ ca, servername: 'db.firm.local', rejectUnauthorized: true });
    expect(typeof ssl.checkServerIdentity).toBe('function');
    void pool.end();
    expect(() => createFirmPool({ address: 'postgres://relink@db.firm.local/relink?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem' })).toThrow(
      /Relink cannot read the firm database's CA file \(sslrootcert=\/nonexistent\/ca.pem\): ENOENT\./,
    );
  });
});
