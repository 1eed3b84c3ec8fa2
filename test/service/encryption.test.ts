import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.js';
import { getMeta, setMetaOnce } from '../../src/store/meta.js';
import {
  databaseKey,
  ensureKeyFile,
  keyCheck,
  keyMatches,
  keyringFrom,
  open,
  parseKey,
  seal,
} from '../../src/service/encryption.js';

describe('at-rest encryption (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips, with a fresh IV each time', () => {
    const a = seal(key, Buffer.from('JBSWY3DPEHPK3PXP'), 'totp:1');
    const b = seal(key, Buffer.from('JBSWY3DPEHPK3PXP'), 'totp:1');
    expect(a.equals(b)).toBe(false);
    expect(open(key, a, 'totp:1').toString()).toBe('JBSWY3DPEHPK3PXP');
    expect(a.includes(Buffer.from('JBSWY3DPEHPK3PXP'))).toBe(false);
  });

  it('refuses another key, another context, or a flipped bit', () => {
    const sealed = seal(key, Buffer.from('secret'), 'totp:1');
    expect(() => open(randomBytes(32), sealed, 'totp:1')).toThrow();
    expect(() => open(key, sealed, 'totp:2')).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    expect(() => open(key, flipped, 'totp:1')).toThrow();
  });

  it('creates the key file once, mode 0600, and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-key-'));
    try {
      const path = join(dir, 'sub', 'acctsec.db.key');
      const k = ensureKeyFile(path);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(ensureKeyFile(path).equals(k)).toBe(true);
      expect(parseKey(readFileSync(path, 'utf8'), path).equals(k)).toBe(true);
      expect(keyringFrom({ keyPath: path }).key().equals(k)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ACCTSEC_ENCRYPTION_KEY (base64 or hex) overrides the file; a short key is refused naming the variable', () => {
    expect(
      keyringFrom({ keyPath: '/nonexistent', envKey: key.toString('base64') })
        .key()
        .equals(key),
    ).toBe(true);
    expect(
      keyringFrom({ keyPath: '/nonexistent', envKey: key.toString('hex') })
        .key()
        .equals(key),
    ).toBe(true);
    expect(() => keyringFrom({ keyPath: '/nonexistent', envKey: 'c2hvcnQ=' }).key()).toThrow(/ACCTSEC_ENCRYPTION_KEY/);
  });

  it('a key check tells the right key from a wrong one', () => {
    expect(keyMatches(key, keyCheck(key))).toBe(true);
    expect(keyMatches(randomBytes(32), keyCheck(key))).toBe(false);
  });
});

describe('the key recorded in the database', () => {
  it('the first key recorded stays; an opener with another key is refused, and does not replace it', () => {
    const db = openStore(':memory:', { create: true });
    const first = keyringFrom({ keyPath: '/nonexistent', envKey: randomBytes(32).toString('base64') });
    const second = keyringFrom({ keyPath: '/nonexistent', envKey: randomBytes(32).toString('base64') });
    expect(databaseKey(db, first).equals(first.key())).toBe(true);
    expect(() => databaseKey(db, second)).toThrow(/does not match this database/);
    expect(() => databaseKey(db, second)).toThrow(/does not match this database/);
    expect(databaseKey(db, first).equals(first.key())).toBe(true);
    // The race it closes: two openers that both read "no key yet" (two instances on one PostgreSQL
    // database) both record: the second's write keeps the first's value and the second is refused.
    expect(setMetaOnce(db, 'key_check', keyCheck(second.key()))).toBe(keyCheck(first.key()));
    expect(getMeta(db, 'key_check')).toBe(keyCheck(first.key()));
    db.close();
  });
});
