import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthFailed, InvalidInput, Throttled } from '../../src/errors.js';
import { secretFromQrText } from '../../src/recovery-qr-text.js';
import {
  approveQrRecovery,
  beginQrRecovery,
  createRecoveryQr,
  qrPendingRequests,
  QR_REQUESTS_PER_ADDRESS,
  recoverWithQr,
} from '../../src/service/recovery-qr.js';
import type { Mailer, OutgoingMail } from '../../src/mail/mailer.js';
import { signIn } from '../../src/service/sign-in.js';
import { putRecoveryAddress, verifyRecoveryAddress } from '../../src/store/email.js';
import { beginTotpEnrollment, confirmTotpEnrollment } from '../../src/service/totp.js';
import { base32Decode, hotp } from '../rfc6238.js';
import { PASSWORD, testContext, withAlice } from './context.js';

// Recovery QR codes (issue #20 §1) at the service: what is stored, single use under parallel attempts,
// and the second factor still asked at the next sign-in.

const NEW_PASSWORD = 'a much better passphrase';
const ORIGIN = 'https://acctsec.example.test';

describe('recovery QR codes', () => {
  it('stores only the SHA-256 of a 256-bit secret, and without a public origin the code is the secret alone', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const created = await createRecoveryQr(ctx, auth, undefined, {}, undefined);
    expect(created.phone).toBe(false);
    expect(created.text).toMatch(/^acsqr_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(created.text.slice(6), 'base64url')).toHaveLength(32);
    const rows = ctx.db.prepare('SELECT * FROM recovery_qr').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secret_hash).toEqual(createHash('sha256').update(created.text).digest());
    expect(JSON.stringify(rows)).not.toContain(created.text.slice(6));
    const activity = ctx.db.prepare('SELECT detail FROM activity').all() as { detail: string | null }[];
    expect(JSON.stringify(activity)).not.toContain(created.text.slice(6));
    // A phone cannot reach a page that has no public address.
    expect(() => beginQrRecovery(ctx, 'alice', {}, undefined)).toThrow(InvalidInput);
  });

  it('its use is told to the account address and every verified recovery address (issue #20 §1)', async () => {
    const notices: OutgoingMail[] = [];
    const mailer: Mailer = {
      send: () => Promise.resolve({ delivered: true } as never),
      notify: (mail) => {
        notices.push(mail);
        return Promise.resolve();
      },
    };
    const ctx = testContext({ mailer });
    const { auth } = await withAlice(ctx);
    putRecoveryAddress(ctx.db, auth.account.id, 'backup@example.org', ctx.now());
    verifyRecoveryAddress(ctx.db, auth.account.id, 'backup@example.org', ctx.now());
    putRecoveryAddress(ctx.db, auth.account.id, 'unproven@example.org', ctx.now());
    const secret = secretFromQrText((await createRecoveryQr(ctx, auth, undefined, {}, ORIGIN)).text)!;
    notices.length = 0;
    await recoverWithQr(ctx, { username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' }, {});
    const used = notices.find((m) => /recovery QR code was used/.test(m.text));
    expect(used?.to).toEqual(['alice@example.com', 'backup@example.org']);
  });

  it('caps the phone requests one address may have waiting, and prunes old ones through an index (review finding)', async () => {
    const ctx = testContext();
    await withAlice(ctx);
    for (let i = 0; i < QR_REQUESTS_PER_ADDRESS; i++)
      beginQrRecovery(ctx, i % 2 ? 'alice' : 'nobody', { ip: '203.0.113.9' }, ORIGIN);
    expect(() => beginQrRecovery(ctx, 'alice', { ip: '203.0.113.9' }, ORIGIN)).toThrow(Throttled);
    // Another address is not held back; and once the waiting ones expire, this one may ask again.
    beginQrRecovery(ctx, 'alice', { ip: '198.51.100.7' }, ORIGIN);
    ctx.clock.advance(11 * 60_000);
    beginQrRecovery(ctx, 'alice', { ip: '203.0.113.9' }, ORIGIN);
    const plan = ctx.db.prepare('EXPLAIN QUERY PLAN DELETE FROM recovery_qr_requests WHERE expires_at < ?').all(0) as {
      detail: string;
    }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (COVERING )?INDEX recovery_qr_requests_by_expiry/);
  });

  it('is used once when parallel attempts race with the same secret', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const secret = secretFromQrText((await createRecoveryQr(ctx, auth, undefined, {}, ORIGIN)).text)!;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        recoverWithQr(ctx, { username: 'alice', code: secret, newPassword: `${NEW_PASSWORD} ${i}`, method: 'qr' }, {}),
      ),
    );
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(AuthFailed);
    expect(ctx.db.prepare("SELECT count(*) AS n FROM activity WHERE event = 'password.recovered'").get()).toEqual({
      n: 1,
    });
  });

  it('finishes an approved phone request once under parallel attempts', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const secret = secretFromQrText((await createRecoveryQr(ctx, auth, undefined, {}, ORIGIN)).text)!;
    const request = beginQrRecovery(ctx, 'alice', { ip: '203.0.113.9' }, ORIGIN);
    const pending = await qrPendingRequests(ctx, secret, { ip: '198.51.100.7' });
    expect(pending.requests[0]).toMatchObject({ ip: '203.0.113.9', phrase: request.phrase });
    await approveQrRecovery(ctx, secret, pending.requests[0]!.id, { ip: '198.51.100.7' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        recoverWithQr(
          ctx,
          { username: 'alice', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' },
          {},
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    // The code that approved it is used with it.
    await expect(
      recoverWithQr(ctx, { username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' }, {}),
    ).rejects.toThrow(AuthFailed);
  });

  it('a code revoked after the approval cannot finish the request', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const secret = secretFromQrText((await createRecoveryQr(ctx, auth, undefined, {}, ORIGIN)).text)!;
    const request = beginQrRecovery(ctx, 'alice', {}, ORIGIN);
    const { requests } = await qrPendingRequests(ctx, secret, {});
    await approveQrRecovery(ctx, secret, requests[0]!.id, {});
    await createRecoveryQr(ctx, auth, undefined, {}, ORIGIN);
    await expect(
      recoverWithQr(
        ctx,
        { username: 'alice', code: request.requestId, newPassword: NEW_PASSWORD, method: 'qr-phone' },
        {},
      ),
    ).rejects.toThrow(AuthFailed);
  });

  it('leaves the second factor in place: the next sign-in still asks for it', async () => {
    const ctx = testContext();
    const { auth } = await withAlice(ctx);
    const e = await beginTotpEnrollment(ctx, auth, { password: PASSWORD }, {});
    await confirmTotpEnrollment(ctx, auth, hotp(base32Decode(e.secret), Math.floor(ctx.now() / 30_000)), {});
    const secret = secretFromQrText((await createRecoveryQr(ctx, auth, undefined, {}, undefined)).text)!;
    await recoverWithQr(ctx, { username: 'alice', code: secret, newPassword: NEW_PASSWORD, method: 'qr' }, {});
    const r = await signIn(ctx, { username: 'alice', password: NEW_PASSWORD }, {});
    expect(r.status).not.toBe('signed-in');
  });
});
