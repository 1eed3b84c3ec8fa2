import { describe, expect, it } from 'vitest';
import { statusRun } from '../../../src/cli/commands/status.js';
import { AuthFailed } from '../../../src/errors.js';
import type { AccountStatus } from '../../../src/views.js';
import {
  DAY,
  HOUR,
  clock,
  createFakeFactory,
  enableTotp,
  initAlice,
  rejection,
  signInElsewhere,
  signInProfile,
} from './fake-factory.js';

/** Issue #20 §3: the address from init is unverified until its code is entered. */
const UNVERIFIED =
  'your address alice@example.com is not verified: it gets notices, but no codes or reset tokens until you confirm it (`acctsec email confirm --send-code`)';
describe('status', () => {
  it('a fresh account: one line per topic, only the notice of its unverified address, nothing asked', async () => {
    const f = createFakeFactory();
    const session = await initAlice(f);
    clock.advance(3 * HOUR);
    await statusRun({ f });
    expect(f.io.lines).toEqual([
      'alice <alice@example.com>  role admin',
      'Password   changed 2026-11-23 10:00 (3 hours ago); next rotation recommended 2027-05-23',
      'MFA        none: the password is the only factor',
      'IP         no restriction',
      'Tokens     0 active',
      `Sessions   1 active (this one: ${session.sessionId})`,
    ]);
    expect(f.io.notes).toEqual([]);
    expect(f.io.warnings).toEqual([UNVERIFIED]);
    expect(f.prompter.asked).toEqual([]);
  });

  it('a busy account: MFA, recovery codes, IP list, tokens, the API key, sessions, and the notices as warnings', async () => {
    const f = createFakeFactory({ policy: { passwordRotationMonths: 1 } });
    await initAlice(f);
    const backend = await f.backend();
    const { secret } = await enableTotp(f);
    await backend.addIp(
      [
        { text: '198.51.100.0/24', where: 'argument 1' },
        { text: '2001:db8::/32', where: 'argument 2' },
      ],
      { allowPrivate: true, force: true },
    );
    const ci = await backend.createToken({ name: 'ci', scopes: ['account:read'], resources: [], expires: '5d' });
    await backend.createToken({ name: 'deploy', scopes: ['dns:write'], resources: [], expires: '90d' });
    await backend.generateApiKey();
    // A month and a day later the password is due for rotation; the profile signs in again.
    clock.advance(32 * DAY);
    await signInElsewhere(f, { totpSecret: secret });
    const now = await signInProfile(f, { totpSecret: secret });
    await statusRun({ f });
    expect(f.io.lines).toEqual([
      'alice <alice@example.com>  role admin',
      'Password   changed 2026-11-23 10:00 (1 month ago); rotation due since 2026-12-23 10:00: run `acctsec password change`',
      'MFA        totp since 2026-11-23 10:00',
      'IP         198.51.100.0/24, 2001:db8::/32',
      'Tokens     1 active; a deprecated API key',
      'Recovery   10 codes left',
      `Sessions   2 active (this one: ${now.sessionId})`,
    ]);
    expect(f.io.warnings).toEqual(['your password is over 1 months old: `acctsec password change`', UNVERIFIED]);
    expect(ci.expiresAt).toBe('2026-11-28T10:00:30.000Z');
  });

  it('warns of a token expiring within 7 days', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const ci = await (
      await f.backend()
    ).createToken({ name: 'ci', scopes: ['account:read'], resources: [], expires: '5d' });
    await statusRun({ f });
    expect(f.io.lines[4]).toBe('Tokens     1 active, 1 expiring within 7 days');
    expect(f.io.warnings).toEqual([`the token "ci" expires 2026-11-28: \`acctsec token rotate ${ci.id}\``, UNVERIFIED]);
  });

  it('--json: the whole AccountStatus, one document and no lines', async () => {
    const f = createFakeFactory({ json: true });
    const session = await initAlice(f);
    await statusRun({ f });
    expect(f.io.document<AccountStatus>()).toEqual({
      username: 'alice',
      email: 'alice@example.com',
      role: 'admin',
      createdAt: '2026-11-23T10:00:00.000Z',
      passwordChangedAt: '2026-11-23T10:00:00.000Z',
      passwordRotationDue: false,
      passwordRotationDueAt: '2027-05-23T10:00:00.000Z',
      mfa: {
        methods: [
          { type: 'totp', enabled: false, enabledAt: null },
          { type: 'email', enabled: false, enabledAt: null },
          { type: 'key', enabled: false, enabledAt: null, keys: 0 },
        ],
        recoveryCodesLeft: null,
        repairWindowUntil: null,
      },
      ipAllowList: [],
      tokens: { active: 0, expiringSoon: [] },
      legacyApiKey: false,
      sessions: [
        {
          id: session.sessionId,
          current: true,
          client: 'acctsec/test on unit (profile default)',
          ip: null,
          createdAt: '2026-11-23T10:00:00.000Z',
          lastSeenAt: '2026-11-23T10:00:00.000Z',
          expiresAt: '2026-11-24T10:00:00.000Z',
        },
      ],
      notices: [UNVERIFIED],
      repairWindowUntil: null,
    });
    // --json puts the notices in the document, not on stderr.
    expect(f.io.warnings).toEqual([]);
  });

  it('not signed in: AuthFailed not_signed_in, nothing printed', async () => {
    const f = createFakeFactory();
    await (
      await f.backendWith(undefined)
    ).init({ username: 'alice', email: 'alice@example.com', password: 'correct horse battery staple' });
    const err = await rejection(statusRun({ f }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect((err as AuthFailed).slug).toBe('not_signed_in');
    expect(err.message).toBe('not signed in, or the session has ended; run `acctsec login`');
    expect(f.io.printed).toEqual([]);
  });

  it('a session past its idle time is refused as not signed in', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    clock.advance(25 * HOUR);
    const err = await rejection(statusRun({ f }));
    expect(err).toBeInstanceOf(AuthFailed);
    expect((err as AuthFailed).exitCode).toBe(3);
    expect(f.io.printed).toEqual([]);
  });
});
