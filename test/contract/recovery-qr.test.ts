import { expect } from 'vitest';
import { secretFromQrText } from '../../src/recovery-qr-text.js';
import {
  contract,
  failure,
  initAlice,
  MINUTE,
  NEW_PASSWORD,
  PASSWORD,
  QR_PAGE_ORIGIN,
  signIn,
  type Case,
} from './harness.js';

// Recovery QR codes (issue #20 §1), the same on both back ends: create (identity confirmed), status,
// revoke; recovery with the code's secret, or by a request a phone approves on the server's page.

const RECOVERED = { username: 'alice', revokedSessions: 1 };

const cases: Record<string, Case> = {
  'create, status and revoke: identity confirmed, a new code voids the old one': async (world, rec) => {
    const { me } = await initAlice(world);
    expect(rec(await me.recoveryQrStatus())).toEqual({ exists: false, createdAt: null });
    const first = await me.createRecoveryQr();
    rec({ ...first, text: '<text>' });
    expect(first).toMatchObject({ phone: true, replaced: false, createdAt: new Date(world.clock.now()).toISOString() });
    expect(first.text).toMatch(new RegExp(`^${QR_PAGE_ORIGIN}/recover/qr#acsqr_[A-Za-z0-9_-]{43}$`));
    expect(rec(await me.recoveryQrStatus())).toEqual({ exists: true, createdAt: first.createdAt });
    // Outside the 10-minute window, a new code needs the password (or a second factor) again.
    world.clock.advance(11 * MINUTE);
    const needs = rec(await failure(me.createRecoveryQr()));
    expect(needs).toMatchObject({ class: 'IdentityRequired', exitCode: 3 });
    const wrong = rec(await failure(me.createRecoveryQr({ password: 'not the password at all' })));
    expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const second = await me.createRecoveryQr({ password: PASSWORD });
    expect(second.replaced).toBe(true);
    expect(second.text).not.toBe(first.text);
    // The first code no longer works.
    const old = rec(
      await failure(
        world
          .anonymous()
          .recover({ username: 'alice', code: secretFromQrText(first.text)!, newPassword: NEW_PASSWORD, method: 'qr' }),
      ),
    );
    expect(old).toMatchObject({
      class: 'AuthFailed',
      exitCode: 3,
      message: 'wrong or no longer valid recovery QR code',
    });
    const revoked = rec(await me.revokeRecoveryQr());
    expect(revoked).toEqual({ revoked: true, createdAt: second.createdAt });
    expect(rec(await me.recoveryQrStatus())).toEqual({ exists: false, createdAt: null });
    const again = rec(await failure(me.revokeRecoveryQr()));
    expect(again).toMatchObject({ class: 'Conflict', exitCode: 5 });
    const gone = rec(
      await failure(
        world.anonymous().recover({
          username: 'alice',
          code: secretFromQrText(second.text)!,
          newPassword: NEW_PASSWORD,
          method: 'qr',
        }),
      ),
    );
    expect(gone).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const events = (await me.activity(20)).map((e) => e.event);
    expect(events.filter((e) => e === 'recovery_qr.created')).toHaveLength(2);
    expect(events).toContain('recovery_qr.revoked');
    const subjects = world.mail().map((m) => m.subject);
    expect(subjects).toContain('acctsec security notice: a recovery QR code was created');
    expect(subjects).toContain('acctsec security notice: your recovery QR code was revoked');
  },

  'recover with the secret: a new password, every session ended, the code used once': async (world, rec) => {
    const { me } = await initAlice(world);
    const { text } = await me.createRecoveryQr();
    const secret = secretFromQrText(text)!;
    const anon = world.anonymous();
    // The policy first: a refused password leaves the code valid.
    const weak = rec(
      await failure(anon.recover({ username: 'alice', code: secret, newPassword: 'short', method: 'qr' })),
    );
    expect(weak).toMatchObject({ class: 'InvalidInput', exitCode: 2 });
    // Another account's name with this code, or an unknown name: the one same refusal.
    const unknown = rec(
      await failure(anon.recover({ username: 'nobody', code: secret, newPassword: NEW_PASSWORD, method: 'qr' })),
    );
    expect(unknown).toMatchObject({ class: 'AuthFailed', message: 'wrong or no longer valid recovery QR code' });
    const done = rec(await anon.recover({ username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' }));
    expect(done).toEqual(RECOVERED);
    expect(rec(await failure(me.status()))).toMatchObject({ exitCode: 3 });
    const replay = rec(
      await failure(
        anon.recover({ username: 'alice', code: secret, newPassword: 'yet another passphrase 9', method: 'qr' }),
      ),
    );
    expect(replay).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const again = await signIn(world, 'alice', NEW_PASSWORD);
    expect(rec(await again.recoveryQrStatus())).toEqual({ exists: false, createdAt: null });
    const events = (await again.activity(10)).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['recovery_qr.used', 'password.recovered']));
    expect(world.mail().map((m) => m.subject)).toContain(
      'acctsec security notice: your recovery QR code was used: your password was reset, and every session signed out (the code no longer works)',
    );
  },

  'the phone: a request, its words on the page, approval by POST with the secret, then the new password': async (
    world,
    rec,
  ) => {
    const { me } = await initAlice(world);
    const { text } = await me.createRecoveryQr();
    const secret = secretFromQrText(text)!;
    const cli = world.anonymous();
    const request = await cli.beginQrRecovery('alice');
    expect(request.page).toBe(`${QR_PAGE_ORIGIN}/recover/qr`);
    expect(request.phrase).toMatch(/^[a-z]+-[a-z]+-[a-z]+$/);
    rec({ ...request, requestId: '<id>', phrase: '<phrase>' });
    // An unknown name gets the same shape of answer: it simply is never approved.
    const nobody = await cli.beginQrRecovery('nobody');
    expect(Object.keys(nobody).sort()).toEqual(Object.keys(request).sort());
    expect(rec(await cli.awaitQrRecovery(request.requestId, 0))).toEqual({ state: 'waiting' });
    // Finishing before the approval is refused.
    const early = rec(
      await failure(
        cli.recover({ username: 'alice', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' }),
      ),
    );
    expect(early).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const phone = world.anonymous();
    const pending = await phone.qrPendingRequests(secret);
    expect(pending.username).toBe('alice');
    expect(pending.requests).toHaveLength(1);
    expect(pending.requests[0]!.phrase).toBe(request.phrase);
    rec({ ...pending, requests: pending.requests.map((r) => ({ ...r, id: '<id>', phrase: '<phrase>' })) });
    const badSecret = rec(await failure(phone.qrPendingRequests('acsqr_' + 'A'.repeat(43))));
    expect(badSecret).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    // A made-up request id and an expired one get the same answer.
    const madeUp = rec(await failure(phone.approveQrRecovery(secret, 'not-a-request')));
    expect(madeUp).toMatchObject({ class: 'NotFound', exitCode: 4 });
    const approved = rec(await phone.approveQrRecovery(secret, pending.requests[0]!.id));
    expect(approved).toEqual({ approved: true, username: 'alice' });
    const twice = rec(await failure(phone.approveQrRecovery(secret, pending.requests[0]!.id)));
    expect(twice).toEqual(madeUp);
    expect(rec(await cli.awaitQrRecovery(request.requestId, 0))).toEqual({ state: 'approved' });
    // The handle is the CLI's: another username with it is refused.
    const other = rec(
      await failure(
        cli.recover({ username: 'nobody', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' }),
      ),
    );
    expect(other).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    const done = rec(
      await cli.recover({ username: 'alice', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' }),
    );
    expect(done).toEqual(RECOVERED);
    const replay = rec(
      await failure(
        cli.recover({ username: 'alice', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' }),
      ),
    );
    expect(replay).toMatchObject({ class: 'AuthFailed', exitCode: 3 });
    expect(rec(await cli.awaitQrRecovery(request.requestId, 0))).toEqual({ state: 'expired' });
    // The code was used: the page no longer knows it.
    expect(rec(await failure(phone.qrPendingRequests(secret)))).toMatchObject({ class: 'AuthFailed' });
    await signIn(world, 'alice', NEW_PASSWORD);
  },

  'a phone request expires': async (world, rec) => {
    const { me } = await initAlice(world);
    const secret = secretFromQrText((await me.createRecoveryQr()).text)!;
    const cli = world.anonymous();
    const request = await cli.beginQrRecovery('alice');
    const id = (await cli.qrPendingRequests(secret)).requests[0]!.id;
    world.clock.advance(11 * MINUTE);
    expect(rec(await cli.awaitQrRecovery(request.requestId, 0))).toEqual({ state: 'expired' });
    expect(rec((await cli.qrPendingRequests(secret)).requests)).toEqual([]);
    const late = rec(await failure(cli.approveQrRecovery(secret, id)));
    expect(late).toMatchObject({ class: 'NotFound', exitCode: 4 });
    expect(late.message).toContain('expired');
    // The code itself still works.
    expect(
      rec(await cli.recover({ username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' })),
    ).toEqual(RECOVERED);
  },

  'wrong secrets are throttled per the recovery rules': async (world, rec) => {
    const { me } = await initAlice(world);
    const secret = secretFromQrText((await me.createRecoveryQr()).text)!;
    const anon = world.anonymous();
    const results = [];
    for (let i = 0; i < 7; i++)
      results.push(
        (
          await failure(
            anon.recover({
              username: 'alice',
              code: 'acsqr_' + String(i).repeat(43),
              newPassword: NEW_PASSWORD,
              method: 'qr',
            }),
          )
        ).exitCode,
      );
    expect(results.slice(-1)).toEqual([6]);
    rec(results);
    // While the throttle holds, even the right code waits.
    expect(
      rec(await failure(anon.recover({ username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' }))),
    ).toMatchObject({ class: 'Throttled', exitCode: 6 });
  },
};

contract(import.meta.url, cases);
