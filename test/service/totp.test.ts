import { describe, expect, it } from 'vitest';
import { AuthFailed, Conflict, IdentityRequired, InvalidInput, NotFound, Throttled } from '../../src/errors.js';
import { accountStatus } from '../../src/service/accounts.js';
import { regenerateRecoveryCodes, viewRecoveryCodes } from '../../src/service/recovery-codes.js';
import { signIn } from '../../src/service/sign-in.js';
import {
  beginTotpEnrollment,
  confirmTotpEnrollment,
  disableTotp,
  totpCode,
  type TotpAlgorithm,
} from '../../src/service/totp.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { MINUTE, PASSWORD, testContext, withAlice } from './context.js';

// RFC 6238 Appendix B. The seeds are the ASCII digits "1234567890" repeated to 20, 32 and 64 bytes.
const seed = (bytes: number) => Buffer.from('1234567890'.repeat(7).slice(0, bytes));
const VECTORS: [number, string, TotpAlgorithm][] = [
  [59, '94287082', 'SHA1'],
  [59, '46119246', 'SHA256'],
  [59, '90693936', 'SHA512'],
  [1111111109, '07081804', 'SHA1'],
  [1111111109, '68084774', 'SHA256'],
  [1111111109, '25091201', 'SHA512'],
  [1111111111, '14050471', 'SHA1'],
  [1111111111, '67062674', 'SHA256'],
  [1111111111, '99943326', 'SHA512'],
  [1234567890, '89005924', 'SHA1'],
  [1234567890, '91819424', 'SHA256'],
  [1234567890, '93441116', 'SHA512'],
  [2000000000, '69279037', 'SHA1'],
  [2000000000, '90698825', 'SHA256'],
  [2000000000, '38618901', 'SHA512'],
  [20000000000, '65353130', 'SHA1'],
  [20000000000, '77737706', 'SHA256'],
  [20000000000, '47863826', 'SHA512'],
];

describe('RFC 6238 Appendix B', () => {
  it.each(VECTORS)('T=%i gives %s with %s', (t, expected, algorithm) => {
    const bytes = algorithm === 'SHA1' ? 20 : algorithm === 'SHA256' ? 32 : 64;
    expect(totpCode(seed(bytes), t * 1000, algorithm, 8)).toBe(expected);
  });
});

/** Enrolls alice's authenticator in a test context and returns a code function independent of the product. */
async function enrolled() {
  const ctx = testContext();
  const { auth } = await withAlice(ctx);
  const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
  const key = base32Decode(e.secret);
  const code = (offsetSteps = 0) => hotp(key, Math.floor(ctx.now() / 30_000) + offsetSteps);
  const enabled = await confirmTotpEnrollment(ctx, auth, code(), {});
  ctx.clock.advance(60_000); // the confirmation consumed its step; keep the one before now unused too
  return { ctx, auth, e, code, enabled };
}

describe('authenticator enrollment (SPEC §4.1)', () => {
  it('always confirms identity, then issues a 160-bit secret and an otpauth URI labelled ISSUER:username', async () => {
    const ctx = testContext();
    ctx.policy.totpIssuer = 'Example Hosting';
    const { auth } = await withAlice(ctx);
    await expect(beginTotpEnrollment(ctx, auth, undefined, {})).rejects.toBeInstanceOf(IdentityRequired);
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    expect(base32Decode(e.secret)).toHaveLength(20);
    const uri = new URL(e.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Example Hosting:alice');
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: e.secret,
      issuer: 'Example Hosting',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    expect(Date.parse(e.expiresAt) - ctx.now()).toBe(10 * MINUTE);
  });

  it('a pending enrollment expires after 10 minutes', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    ctx.clock.advance(10 * MINUTE + 1000);
    await expect(
      confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {}),
    ).rejects.toBeInstanceOf(NotFound);
  });

  it('activates with a right code, issues 10 recovery codes, and refuses a second enable (exit 5)', async () => {
    const { ctx, auth, enabled } = await enrolled();
    expect(enabled.recoveryCodes).toHaveLength(10);
    await expect(beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {})).rejects.toBeInstanceOf(Conflict);
  });

  it('the confirmation code cannot double as the first sign-in code', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    const code = hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000));
    await confirmTotpEnrollment(ctx, auth, code, {});
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code } }, {}),
    ).rejects.toThrow(/already used/);
  });
});

describe('authenticator verification', () => {
  it('accepts one step either side, and not two', async () => {
    const { ctx, code } = await enrolled();
    const login = (c: string) =>
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: c } }, {});
    await expect(login(code(-2))).rejects.toThrow(/clock looks about 60 seconds behind/);
    expect((await login(code(-1))).status).toBe('signed-in');
    expect((await login(code(0))).status).toBe('signed-in');
    expect((await login(code(1))).status).toBe('signed-in');
    await expect(login(code(2))).rejects.toThrow(/60 seconds ahead/);
  });

  it('accepts a time step once per account, whatever the command', async () => {
    const { ctx, auth, code } = await enrolled();
    const c = code();
    await viewRecoveryCodes(ctx, auth, c, {});
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'totp', code: c } }, {}),
    ).rejects.toThrow(/already used/);
    await expect(regenerateRecoveryCodes(ctx, auth, c, {})).rejects.toThrow(/already used/);
    // an older step than the last one used is a replay too
    await expect(viewRecoveryCodes(ctx, auth, code(-1), {})).rejects.toThrow(/already used/);
  });

  it('after 5 wrong codes, waits a growing delay, logged; a right code is refused meanwhile', async () => {
    const { ctx, auth, code } = await enrolled();
    const wrong = String((Number(code()) + 500_000) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 5; i++)
      await expect(viewRecoveryCodes(ctx, auth, wrong, {})).rejects.toBeInstanceOf(AuthFailed);
    const err = (await viewRecoveryCodes(ctx, auth, code(), {}).catch((e: unknown) => e)) as Throttled;
    expect(err).toBeInstanceOf(Throttled);
    expect(err.retryAfterSeconds).toBe(30);
    ctx.clock.advance(31_000);
    await expect(viewRecoveryCodes(ctx, auth, wrong, {})).rejects.toBeInstanceOf(AuthFailed);
    expect(
      ((await viewRecoveryCodes(ctx, auth, code(), {}).catch((e: unknown) => e)) as Throttled).retryAfterSeconds,
    ).toBe(60);
    const events = ctx.db.prepare("SELECT event, detail FROM activity WHERE event LIKE 'mfa.code.%'").all() as {
      event: string;
    }[];
    expect(events.filter((e) => e.event === 'mfa.code.failed')).toHaveLength(6);
    expect(events.filter((e) => e.event === 'mfa.code.throttled')).toHaveLength(2);
  });
});

describe('recovery codes (SPEC §5)', () => {
  it('are 16 characters of an unambiguous alphabet (80 bits), grouped in fours, all different', async () => {
    const { enabled } = await enrolled();
    for (const c of enabled.recoveryCodes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    expect(new Set(enabled.recoveryCodes).size).toBe(10);
  });

  it('work once at sign-in, in any case and spacing, and say how many are left', async () => {
    const { ctx, enabled } = await enrolled();
    const c = enabled.recoveryCodes[0]!;
    const r = await signIn(
      ctx,
      {
        username: 'alice',
        password: PASSWORD,
        secondFactor: { method: 'recovery', code: ` ${c.toUpperCase().replace(/-/g, ' ')} ` },
      },
      {},
    );
    expect(r.status === 'signed-in' && r.notices).toEqual(['recovery code accepted; 9 left']);
    await expect(
      signIn(ctx, { username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: c } }, {}),
    ).rejects.toThrow(/already used/);
  });

  it('suggest regenerating when 3 or fewer are left', async () => {
    const { ctx, auth, enabled } = await enrolled();
    expect(accountStatus(ctx, auth).notices.filter((n) => !n.includes('is not verified'))).toEqual([]);
    let last: string[] = [];
    for (const c of enabled.recoveryCodes.slice(0, 7)) {
      const r = await signIn(
        ctx,
        { username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: c } },
        {},
      );
      last = r.status === 'signed-in' ? r.notices : [];
    }
    expect(last).toEqual([
      'recovery code accepted; 3 left',
      'only 3 recovery codes left: run `acctsec recovery-codes regenerate` for a new set',
    ]);
    const status = accountStatus(ctx, auth);
    expect(status.mfa.recoveryCodesLeft).toBe(3);
    expect(status.notices.join()).toContain('acctsec recovery-codes regenerate');
  });

  it('view shows the unused ones; regenerate voids every old code', async () => {
    const { ctx, auth, code, enabled } = await enrolled();
    await signIn(
      ctx,
      { username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: enabled.recoveryCodes[0]! } },
      {},
    );
    const view = await viewRecoveryCodes(ctx, auth, code(), {});
    expect(view.codes).toEqual(enabled.recoveryCodes.slice(1));
    ctx.clock.advance(30_000);
    const fresh = await regenerateRecoveryCodes(ctx, auth, code(), {});
    expect(fresh.codes).toHaveLength(10);
    await expect(
      signIn(
        ctx,
        {
          username: 'alice',
          password: PASSWORD,
          secondFactor: { method: 'recovery', code: enabled.recoveryCodes[1]! },
        },
        {},
      ),
    ).rejects.toBeInstanceOf(AuthFailed);
    expect(
      (
        await signIn(
          ctx,
          { username: 'alice', password: PASSWORD, secondFactor: { method: 'recovery', code: fresh.codes[0]! } },
          {},
        )
      ).status,
    ).toBe('signed-in');
  });
});

describe('disabling the authenticator (SPEC §4.4)', () => {
  it('needs a current code, and an explicit yes when it is the last method; recovery codes go with it', async () => {
    const { ctx, auth, code } = await enrolled();
    await expect(disableTotp(ctx, auth, code(), false, {})).rejects.toBeInstanceOf(InvalidInput);
    await expect(disableTotp(ctx, auth, '000000', true, {})).rejects.toBeInstanceOf(AuthFailed);
    expect(await disableTotp(ctx, auth, code(), true, {})).toEqual({ disabled: true, remainingMethods: [] });
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
    expect(ctx.db.prepare('SELECT count(*) AS n FROM recovery_codes').get()).toEqual({ n: 0 });
    await expect(disableTotp(ctx, auth, code(), true, {})).rejects.toBeInstanceOf(Conflict);
  });
});

describe('at rest', () => {
  it('the database holds neither the secret (base32, hex, raw) nor any recovery code', async () => {
    const { ctx, e, enabled } = await enrolled();
    const dump = Buffer.concat(
      (
        ctx.db
          .prepare(
            'SELECT * FROM totp_credentials UNION ALL SELECT account_id, code, created_at, used_at, NULL, NULL FROM recovery_codes',
          )
          .raw()
          .all() as unknown[][]
      )
        .flat()
        .map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))),
    );
    const raw = base32Decode(e.secret);
    for (const needle of [e.secret, e.secret.toLowerCase(), raw.toString('hex'), raw])
      expect(dump.includes(needle)).toBe(false);
    for (const c of enabled.recoveryCodes) {
      expect(dump.includes(c)).toBe(false);
      expect(dump.includes(c.replace(/-/g, ''))).toBe(false);
    }
  });
});
