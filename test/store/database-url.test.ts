import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/errors.js';
import {
  isPostgresUrl,
  redactUrl,
  refusePasswordInFlag,
  urlHasPassword,
  weakTransport,
} from '../../src/database-url.js';

// Where the store is (issue #22): a file path or a postgres:// URL, and what may be shown of a URL.

describe('database URLs', () => {
  it('tells a PostgreSQL URL from a file path', () => {
    expect(isPostgresUrl('postgres://db/acctsec')).toBe(true);
    expect(isPostgresUrl('POSTGRESQL://db/acctsec')).toBe(true);
    expect(isPostgresUrl('/srv/acctsec.db')).toBe(false);
    expect(isPostgresUrl('postgres.db')).toBe(false);
  });

  it('never shows a password, and refuses one in a flag (ps shows arguments to every user)', () => {
    const url = 'postgres://acctsec:s3cret@db.example.com/acctsec?sslmode=verify-full';
    expect(redactUrl(url)).not.toContain('s3cret');
    expect(redactUrl(url)).toContain('acctsec:***@db.example.com');
    expect(urlHasPassword(url)).toBe(true);
    expect(urlHasPassword('postgres://db/acctsec?password=s3cret')).toBe(true);
    expect(urlHasPassword('postgres://db/acctsec?sslmode=verify-full&sslpassword=s3cret')).toBe(true);
    expect(redactUrl('postgres://db/acctsec?password=s3cret&sslmode=verify-full')).toBe(
      'postgres://db/acctsec?password=***&sslmode=verify-full',
    );
    expect(redactUrl('postgres://db/acctsec?sslpassword=s3cret')).not.toContain('s3cret');
    // libpq percent-decodes a parameter's name: `pass%77ord` is `password`.
    for (const url of [
      'postgres://db/acctsec?pass%77ord=s3cret',
      'postgres://db/acctsec?sslmode=require&%70assword=s3cret',
      'postgres://db/acctsec?ssl%50ASSWORD=s3cret',
      'postgres://db/acctsec?%zz=1&pass%77ord=s3cret',
    ]) {
      expect(urlHasPassword(url), url).toBe(true);
      expect(redactUrl(url), url).not.toContain('s3cret');
      expect(() => refusePasswordInFlag(url, '--database'), url).toThrow(/--database/);
    }
    expect(urlHasPassword('postgres://db/acctsec?passwordless=1&sslmode=require')).toBe(false);
    expect(redactUrl('postgres://db/acctsec?passfile=%2Fhome%2Fa%2F.pgpass')).toContain('passfile=%2Fhome');
    expect(urlHasPassword('postgres://acctsec@db/acctsec')).toBe(false);
    let err: unknown;
    try {
      refusePasswordInFlag(url, '--database');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).exitCode).toBe(2);
    expect((err as Error).message).not.toContain('s3cret');
    expect(() => refusePasswordInFlag('postgres://acctsec@db/acctsec', '--database')).not.toThrow();
    expect(() => refusePasswordInFlag('/srv/a:b@c.db', '--db')).not.toThrow();
  });

  it('warns of a remote database reached without verify-full; a socket or loopback needs nothing', () => {
    expect(weakTransport('postgres://acctsec@db.example.com/acctsec', {})).toMatch(/sslmode=prefer/);
    expect(weakTransport('postgres://acctsec@db.example.com/acctsec?sslmode=require', {})).toMatch(/sslmode=require/);
    expect(weakTransport('postgres://acctsec@db.example.com/acctsec?sslmode=verify-full', {})).toBeUndefined();
    expect(weakTransport('postgres://acctsec@db.example.com/acctsec', { PGSSLMODE: 'verify-full' })).toBeUndefined();
    expect(weakTransport('postgres://postgres@/acctsec?host=/run/postgresql', {})).toBeUndefined();
    expect(weakTransport('postgres://acctsec@localhost/acctsec', {})).toBeUndefined();
  });
});
