import type Argon2 from 'argon2';
import { standardPhc } from './phc.js';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** SPEC §3 and OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1. */
export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the stored hash is weaker than the current parameters (SPEC §3: upgrade at sign-in). */
  needsRehash(hash: string): boolean;
}

/** Passwords are compared as NFC-normalised code points (NIST SP 800-63B rev 4 §3.1.1.2). */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** The argon2 addon, loaded by the first hash: commands that check no password do not pay for it (issue #18). */
async function loadArgon2(): Promise<typeof Argon2> {
  return (await import('argon2')).default;
}

export function argon2Hasher(params: Argon2Params = DEFAULT_ARGON2): PasswordHasher {
  return {
    params,
    hash: async (password) => {
      const argon2 = await loadArgon2();
      return standardPhc(await argon2.hash(normalizePassword(password), { type: argon2.argon2id, ...params }));
    },
    verify: async (hash, password) => {
      const argon2 = await loadArgon2();
      // An account with no password yet (created by support, `!`) must not answer sooner than one
      // with a password: the time would tell that the name exists. One hash at today's cost, as for
      // an unknown name.
      if (!hash.startsWith('$argon2')) {
        await argon2.hash(normalizePassword(password), { type: argon2.argon2id, ...params });
        return false;
      }
      try {
        return await argon2.verify(hash, normalizePassword(password));
      } catch {
        return false;
      }
    },
    needsRehash: (hash) => isWeaker(hash, params),
  };
}

/**
 * PHC string `$argon2id$v=19$m=19456,t=2,p=1$salt$hash` (either parameter order is read): anything
 * not argon2id v1.3, or with less memory or time than now, is weaker.
 */
function isWeaker(hash: string, params: Argon2Params): boolean {
  const parts = hash.split('$');
  if (parts[1] !== 'argon2id' || parts[2] !== 'v=19' || !parts[3]) return true;
  const p = Object.fromEntries(parts[3].split(',').map((kv) => kv.split('=') as [string, string]));
  return Number(p.m ?? 0) < params.memoryCost || Number(p.t ?? 0) < params.timeCost;
}
