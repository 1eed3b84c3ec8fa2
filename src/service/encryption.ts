import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidInput, Unavailable } from '../errors.js';
import type { Db } from '../store/db.js';
import { getMeta, setMetaOnce } from '../store/meta.js';

// AES-256-GCM for secrets that must be read back (TOTP seeds, recovery codes: SPEC §4.1, §5). The key is
// kept apart from the database, so a copy of the database file alone reveals none of them.

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 1;

export interface Keyring {
  /** The key, loaded on first use: commands that touch no secret never need it. */
  key(): Buffer;
}

export interface KeySource {
  /** ACCTSEC_ENCRYPTION_KEY: 32 bytes as base64 or 64 hex digits; overrides the file. */
  envKey?: string | undefined;
  keyPath: string;
}

/** `source`: the variable's name or the key file's path, for the message; the field is the kind of source. */
export function parseKey(text: string, source: string, field = 'key-file'): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new InvalidInput(`${source} must hold a 256-bit key (base64 or 64 hex digits)`, field);
  }
  return key;
}

/**
 * The key file's key. Refused when other users may read or write it (as ssh refuses such a private
 * key; issue #19): exit 8 naming the file and the fix, before anything else is done.
 */
export function readKeyFile(path: string): Buffer {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077)
    throw new Unavailable(
      `the encryption key file ${path} is open to other users (mode 0${mode.toString(8)}): run chmod 600 ${path}`,
      'key_file_mode',
    );
  return parseKey(readFileSync(path, 'utf8'), path);
}

/** Creates the key file (0600, directory 0700 when we create it) unless it exists; returns its key. */
export function ensureKeyFile(path: string): Buffer {
  if (existsSync(path)) return readKeyFile(path);
  const key = randomBytes(KEY_BYTES);
  writeKeyFile(path, key);
  return key;
}

/** Writes `key` to a new key file (0600; refused if one exists), its directory made 0700 when missing. */
export function writeKeyFile(path: string, key: Buffer): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, key.toString('base64') + '\n');
  } finally {
    closeSync(fd);
  }
}

export function keyringFrom(source: KeySource): Keyring {
  let cached: Buffer | undefined;
  return {
    key() {
      if (!cached) {
        if (source.envKey) cached = parseKey(source.envKey, 'ACCTSEC_ENCRYPTION_KEY', 'ACCTSEC_ENCRYPTION_KEY');
        else if (existsSync(source.keyPath)) cached = readKeyFile(source.keyPath);
        // Exit 8: the store cannot be used until the key is back; nothing was tried (a code is not
        // counted as wrong; issue #19).
        else
          throw new Unavailable(
            `the encryption key file ${source.keyPath} is missing (restore it, or set ACCTSEC_ENCRYPTION_KEY)`,
            'key_missing',
          );
      }
      return cached;
    },
  };
}

/** A fingerprint stored in the database so a wrong key is reported as such, not as "bad data". */
export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('acctsec key check v1').digest('hex');
}

/** The key for this database, refused with a clear message when it is not the one `init` created. */
export function databaseKey(db: Db, keyring: Keyring): Buffer {
  const key = keyring.key();
  // The first key to be recorded stays: two openers with different keys (two instances on one
  // PostgreSQL database) cannot both record theirs, the later one is refused below.
  const check = getMeta(db, 'key_check') ?? setMetaOnce(db, 'key_check', keyCheck(key));
  if (!keyMatches(key, check)) {
    throw new InvalidInput(
      'the encryption key does not match this database (check ACCTSEC_ENCRYPTION_KEY or the key file)',
      'ACCTSEC_ENCRYPTION_KEY',
    );
  }
  return key;
}

/**
 * The audit chain's MAC key (issue #15 §5): HKDF-SHA-256 (RFC 5869) of this database's at-rest key with
 * its own label, so the chain can be neither recomputed from the database alone nor confused with the
 * sealing key's other uses. Never stored, never printed.
 */
export function auditChainKey(db: Db, keyring: Keyring): Buffer {
  return chainKeyOf(databaseKey(db, keyring));
}

/** The audit chain's key of an at-rest key already checked against its database (auditChainKey does both). */
export function chainKeyOf(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'acctsec audit chain v1', KEY_BYTES));
}

export function keyMatches(key: Buffer, check: string): boolean {
  const a = Buffer.from(keyCheck(key), 'hex');
  const b = Buffer.from(check, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Encrypts `plaintext`; `context` is bound as associated data (e.g. "totp:42"), so a sealed value copied
 * to another row or account fails to open.
 */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT)
    throw new Error('sealed value has an unknown format');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
}
