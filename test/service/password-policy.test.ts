import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../src/errors.js';
import { checkNewPassword, isCommonPassword } from '../../src/service/password-policy.js';

const ok = async (password: string, extra: { current?: string; minLength?: number } = {}) =>
  checkNewPassword({
    password,
    username: 'alice',
    minLength: extra.minLength ?? 12,
    ...(extra.current ? { current: extra.current } : {}),
  });

describe('new password rules (SPEC §3)', () => {
  it.each([
    ['11 ASCII characters', 'abcdefghijk', /has 11 characters; it needs at least 12/],
    ['11 characters after NFC (13 UTF-16 units typed decomposed)', 'cafe\u0301cafe\u0301caf', /has 11 characters/],
    ['257 characters', 'x'.repeat(100) + 'y'.repeat(100) + 'z'.repeat(57), /has 257 characters; at most 256/],
    ['a common password', 'password1234', /common leaked passwords/],
    ['a common password in other case', 'PASSWORD1234', /common leaked passwords/],
    ['the username inside', 'my-alice-password-99', /contains the username/],
    ['the username in other case', 'my-ALICE-password-99', /contains the username/],
  ])('refuses %s', async (_name, password, message) => {
    const err = await ok(password).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toMatch(message);
  });

  it.each([
    ['exactly 12 characters', 'tangerine-ow'],
    ['12 characters after NFC, typed with combining accents', 'cafe\u0301cafe\u0301cafe\u0301'],
    ['exactly 256 characters', 'ab'.repeat(128)],
    ['a long passphrase with spaces', 'correct horse battery staple'],
    ['emoji count as one character each', '🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐'],
  ])('accepts %s', async (_name, password) => {
    await expect(ok(password)).resolves.toBeUndefined();
  });

  it('counts code points, not UTF-16 units: 11 emoji are too short', async () => {
    await expect(ok('🔐'.repeat(11))).rejects.toThrow(/has 11 characters/);
  });

  it('refuses the current password, compared after NFC', async () => {
    await expect(ok('caf\u00e9 au lait please', { current: 'cafe\u0301 au lait please' })).rejects.toThrow(
      /is the current password/,
    );
  });

  it('applies a raised minimum', async () => {
    await expect(ok('correct horse battery', { minLength: 25 })).rejects.toThrow(/at least 25/);
  });

  it('ships a blocklist of at least the 10,000 most common passwords', async () => {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    expect(dictionary['passwords-common'].length).toBeGreaterThanOrEqual(10_000);
    for (const p of ['123456', 'qwerty', 'iloveyou', 'trustno1']) expect(await isCommonPassword(p)).toBe(true);
    expect(await isCommonPassword('correct horse battery staple')).toBe(false);
  });
});
