import { randomInt } from 'node:crypto';

// The shape of acctsec's secrets (SPEC §7), shared by the service (which issues and checks them) and
// the CLI (`token inspect` works offline): a fixed prefix that secret scanners can match, 32 base62
// characters of randomness (190 bits), and 6 base62 characters of CRC32 over the rest, so a mistyped
// token is rejected before any database lookup (GitHub's token format does the same).

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;

export type SecretKind = 'token' | 'apikey' | 'reset' | 'appsecret';

export const PREFIXES: Record<SecretKind, string> = {
  token: 'acs_',
  apikey: 'acsk_',
  reset: 'acs_rst_',
  // Issue #21: an OAuth application's client secret.
  appsecret: 'acsapp_',
};

const NAMES: Record<SecretKind, string> = {
  token: 'personal access token',
  apikey: 'API key (deprecated)',
  reset: 'password reset token',
  appsecret: 'OAuth client secret',
};

export function secretName(kind: SecretKind): string {
  return NAMES[kind];
}

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * CRC-32 (IEEE 802.3, the one zlib computes) of the text's UTF-8 bytes. Not node:zlib's crc32: loading
 * zlib and the stream modules under it cost every command's start-up a few ms (issue #18); the unit
 * test checks this one against zlib's on random input.
 */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

export function crc32(text: string): number {
  let c = -1;
  for (const byte of Buffer.from(text, 'utf8')) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECKSUM_CHARS);
}

export function newSecret(kind: SecretKind): string {
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += BASE62[randomInt(62)];
  const body = PREFIXES[kind] + random;
  return body + checksum(body);
}

/** Longest prefix first: acs_rst_ also starts with acs_. */
const BY_PREFIX_LENGTH = (Object.keys(PREFIXES) as SecretKind[]).sort(
  (a, b) => PREFIXES[b].length - PREFIXES[a].length,
);
const BASE62_ONLY = /^[0-9A-Za-z]+$/;

export type Inspection =
  { kind: SecretKind; valid: true } | { kind: SecretKind | 'session' | 'unknown'; valid: false; reason: string };

/** What a string is, without any database: for `token verify` before its lookup and `token inspect`. */
export function inspectSecret(raw: string): Inspection {
  const s = raw.trim();
  if (s.startsWith('acs_ses_'))
    return {
      kind: 'session',
      valid: false,
      reason: 'an acctsec sign-in session token (never share it; `acctsec logout` ends it)',
    };
  const kind = BY_PREFIX_LENGTH.find((k) => s.startsWith(PREFIXES[k]));
  if (!kind)
    return {
      kind: 'unknown',
      valid: false,
      reason:
        'not an acctsec token, API key, reset token or OAuth client secret (no acs_, acsk_, acs_rst_ or acsapp_ prefix)',
    };
  const rest = s.slice(PREFIXES[kind].length);
  if (rest.length !== RANDOM_CHARS + CHECKSUM_CHARS || !BASE62_ONLY.test(rest)) {
    return {
      kind,
      valid: false,
      reason: `malformed: an acctsec ${NAMES[kind]} has ${RANDOM_CHARS + CHECKSUM_CHARS} letters and digits after its prefix`,
    };
  }
  const body = s.slice(0, s.length - CHECKSUM_CHARS);
  if (checksum(body) !== s.slice(-CHECKSUM_CHARS))
    return { kind, valid: false, reason: 'malformed: the checksum does not match (a character is wrong or missing)' };
  return { kind, valid: true };
}
