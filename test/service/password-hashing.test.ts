import { execFileSync } from 'node:child_process';
import argon2 from 'argon2';
import { describe, expect, it } from 'vitest';
import { argon2Hasher, DEFAULT_ARGON2 } from '../../src/service/password-hashing.js';
import { standardPhc } from '../../src/service/phc.js';
import { signIn } from '../../src/service/sign-in.js';
import { findAccountByUsername } from '../../src/store/accounts.js';
import { PASSWORD, testContext, withAlice } from './context.js';

// Issue #17 §1: what we store is read by the Argon2 reference (libargon2, through Debian's `argon2`
// CLI) and by argon2-cffi (Debian's python3-argon2), not only by the npm package that wrote it.

const PYTHON = '/usr/bin/python3';

/** argon2-cffi's PasswordHasher().verify on each [hash, password] pair: true, or its error's name. */
function pythonVerifies(pairs: [string, string][]): (true | string)[] {
  const script = `
import json, sys, argon2
out = []
for h, pw in json.load(sys.stdin):
    try:
        out.append(argon2.PasswordHasher().verify(h, pw))
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))`;
  // Hashes and passwords on stdin, never as arguments.
  return JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(pairs), encoding: 'utf8' })) as (
    true | string
  )[];
}

/** The reference implementation's encoded hash (`argon2 SALT -id -e`, password on stdin). */
function referenceHash(password: string, salt: string): string {
  const args = [
    salt,
    '-id',
    '-t',
    String(DEFAULT_ARGON2.timeCost),
    '-k',
    String(DEFAULT_ARGON2.memoryCost),
    '-p',
    String(DEFAULT_ARGON2.parallelism),
    '-e',
  ];
  return execFileSync('argon2', args, { input: password, encoding: 'utf8' }).trim();
}

describe('password hashes in the PHC string format (issue #17)', () => {
  it('a stored hash verifies with argon2-cffi (python3-argon2), and a wrong password does not', async () => {
    const ctx = testContext({ hasher: argon2Hasher() });
    await withAlice(ctx);
    const stored = findAccountByUsername(ctx.db, 'alice')!.password_hash;
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    // The npm package's own order is what argon2-cffi refuses: the test can tell the two apart.
    const npmOrder = stored.replace('m=19456,t=2,p=1', 'm=19456,p=1,t=2');
    expect(
      pythonVerifies([
        [stored, PASSWORD],
        [stored, `${PASSWORD}!`],
        [npmOrder, PASSWORD],
      ]),
    ).toEqual([true, 'VerifyMismatchError', 'VerificationError']);
  });

  it('is, character for character, what the Argon2 reference CLI encodes for the same salt and password', async () => {
    const salt = 'acctsec-ref-salt';
    const ours = standardPhc(
      await argon2.hash(PASSWORD, { type: argon2.argon2id, ...DEFAULT_ARGON2, salt: Buffer.from(salt) }),
    );
    const reference = referenceHash(PASSWORD, salt);
    expect(ours).toBe(reference);
    // and the reference's string verifies here
    expect(await argon2Hasher().verify(reference, PASSWORD)).toBe(true);
    expect(await argon2Hasher().verify(reference, 'not the password')).toBe(false);
  });

  it('an old row (m, p, t order) still signs in, and is rewritten in the standard order with the same salt and hash', async () => {
    const ctx = testContext({ hasher: argon2Hasher() });
    await withAlice(ctx);
    const current = findAccountByUsername(ctx.db, 'alice')!.password_hash;
    const old = current.replace('m=19456,t=2,p=1', 'm=19456,p=1,t=2');
    ctx.db.prepare('UPDATE accounts SET password_hash = ? WHERE username = ?').run(old, 'alice');
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
    const rewritten = findAccountByUsername(ctx.db, 'alice')!.password_hash;
    expect(rewritten).toBe(current);
    expect(pythonVerifies([[rewritten, PASSWORD]])).toEqual([true]);
  });

  it("an account with no password yet (`!`) takes as long to refuse as one with a password (one hash at today's cost)", async () => {
    const hasher = argon2Hasher();
    const real = await hasher.hash(PASSWORD);
    const time = async (hash: string) => {
      const start = process.hrtime.bigint();
      expect(await hasher.verify(hash, 'a wrong password')).toBe(false);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const none: number[] = [];
    const set: number[] = [];
    for (let i = 0; i < 5; i++) {
      none.push(await time('!'));
      set.push(await time(real));
    }
    // Without the dummy hash, `!` is refused in microseconds: a ratio near 0, far below this bound.
    expect(median(none) / median(set)).toBeGreaterThan(0.5);
  });

  it('standardPhc re-orders Argon2 parameters only, and leaves anything else as it is', () => {
    expect(standardPhc('$argon2id$v=19$m=65536,p=4,t=3$c2FsdA$aGFzaA')).toBe(
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    );
    expect(standardPhc('$argon2i$v=19$t=3,p=4,m=65536$c2FsdA$aGFzaA')).toBe(
      '$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    );
    for (const s of [
      '$argon2id$v=19$m=1,t=2,p=1$c2FsdA$aGFzaA',
      '$2b$12$abcdefghijklmnopqrstuv',
      '$argon2id$v=19$m=1,t=2,p=1,keyid=x$s$h',
      'plain',
    ])
      expect(standardPhc(s)).toBe(s);
  });
});
