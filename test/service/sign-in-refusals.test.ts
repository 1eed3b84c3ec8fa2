import { describe, expect, it, onTestFinished } from 'vitest';
import { AcctsecError, AuthFailed, Throttled } from '../../src/errors.js';
import { createMailer, DEFAULT_FROM, type Delivery } from '../../src/mail/mailer.js';
import { accountActivity } from '../../src/service/activity.js';
import { addIp } from '../../src/service/ip-allow-list.js';
import { beginKeySignIn, type RelyingParty } from '../../src/service/security-keys.js';
import { WRONG_CREDENTIALS } from '../../src/service/credentials.js';
import { sendSignInCode, signIn } from '../../src/service/sign-in.js';
import { setLocked } from '../../src/store/admin.js';
import { PASSWORD, testContext, withAlice } from './context.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Issue #15 §2: a right password that may not be used (a locked account, an address outside the IP
// list) is answered exactly as a wrong one; only the owner learns the truth, from the activity log
// and a security notice sent after the answer.

const RP: RelyingParty = { rpId: 'localhost', origin: 'http://localhost:7444' };
const OUTSIDE = { ip: '9.9.9.9' };

async function setup(refusal: 'ip' | 'locked') {
  const deliveries: Delivery[] = [];
  const outboxDir = mkdtempSync(join(tmpdir(), 'acctsec-refusals-'));
  onTestFinished(() => rmSync(outboxDir, { recursive: true, force: true }));
  const ctx = testContext({
    mailer: createMailer({ from: DEFAULT_FROM, outboxDir, onDelivery: (d) => deliveries.push(d) }),
  });
  const { auth } = await withAlice(ctx);
  if (refusal === 'ip')
    await addIp(ctx, auth, [{ text: '8.8.8.0/24' }], { allowPrivate: false, force: true }, undefined, {});
  else setLocked(ctx.db, auth.account.id, ctx.now());
  await ctx.background.settled();
  deliveries.length = 0;
  return { ctx, deliveries, origin: refusal === 'ip' ? OUTSIDE : {} };
}

/** Everything a caller sees of an error: its class, exit code, slug and message. */
function seen(err: unknown) {
  expect(err).toBeInstanceOf(AcctsecError);
  const e = err as AcctsecError;
  return { class: e.constructor.name, exitCode: e.exitCode, slug: e.slug, message: e.message, details: e.details() };
}

const PATHS = {
  'sign-in': (ctx: ReturnType<typeof testContext>, password: string, origin: object) =>
    signIn(ctx, { username: 'alice', password }, origin),
  'send-code': (ctx: ReturnType<typeof testContext>, password: string, origin: object) =>
    sendSignInCode(ctx, { username: 'alice', password, method: 'email' }, origin),
  'key sign-in': (ctx: ReturnType<typeof testContext>, password: string, origin: object) =>
    beginKeySignIn(ctx, { username: 'alice', password }, RP, origin),
};

describe('a right password that may not be used is answered as a wrong one (issue #15)', () => {
  for (const refusal of ['ip', 'locked'] as const) {
    for (const [path, attempt] of Object.entries(PATHS)) {
      it(`${path}, ${refusal === 'ip' ? 'from outside the IP list' : 'on a locked account'}: the same error as a wrong password; the log and a notice after the answer say why`, async () => {
        const { ctx, deliveries, origin } = await setup(refusal);
        const wrong = seen(await attempt(ctx, 'a wrong password', origin).catch((e: unknown) => e));
        expect(wrong).toMatchObject({ class: 'AuthFailed', exitCode: 3, message: WRONG_CREDENTIALS });
        const right = await attempt(ctx, PASSWORD, origin).catch((e: unknown) => e);
        expect(seen(right)).toEqual(wrong);
        // The notice goes after the answer: none is out when the caller has it.
        expect(deliveries).toEqual([]);
        await ctx.background.settled();
        expect(deliveries.map((d) => d.subject)).toEqual([
          refusal === 'ip'
            ? 'acctsec security notice: your password was used to sign in from 9.9.9.9, outside your IP restriction; the sign-in was refused'
            : 'acctsec security notice: your password was used to sign in while the account is locked; the sign-in was refused',
        ]);
        expect(deliveries[0]!.to).toEqual(['alice@example.com']);
        const log = accountActivity(ctx, 1, 5).map((e) => ({ event: e.event, detail: e.detail }));
        expect(log[0]).toEqual({ event: 'signin.refused', detail: { reason: refusal } });
        expect(log[1]).toEqual({ event: 'signin.failed', detail: { reason: 'password' } });
        expect(ctx.backgroundFailures).toEqual([]);
      });
    }
  }

  it('a refused right password counts once in the sign-in throttle, exactly like a wrong one', async () => {
    // Releasing the throttle on a refused right password would tell it apart at the next attempt.
    const { ctx, origin } = await setup('ip');
    for (let i = 0; i < 3; i++)
      await expect(signIn(ctx, { username: 'alice', password: `wrong ${i}` }, origin)).rejects.toThrow(
        WRONG_CREDENTIALS,
      );
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, origin)).rejects.toThrow(WRONG_CREDENTIALS);
    // Four failures so far (not five: counted once), so one more attempt is free...
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, origin)).rejects.toThrow(WRONG_CREDENTIALS);
    // ...and the sixth from that address waits, as after five wrong passwords.
    const sixth = await signIn(ctx, { username: 'alice', password: PASSWORD }, origin).catch((e: unknown) => e);
    expect(sixth).toBeInstanceOf(Throttled);
    // The count is that address group's: the owner, from inside the list, is not held back by it.
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, { ip: '8.8.8.8' })).status).toBe('signed-in');
    await ctx.background.settled();
  });

  it('local sign-ins have no address and are not refused by the IP list', async () => {
    const { ctx } = await setup('ip');
    expect((await signIn(ctx, { username: 'alice', password: PASSWORD }, {})).status).toBe('signed-in');
    await expect(signIn(ctx, { username: 'alice', password: PASSWORD }, OUTSIDE)).rejects.toBeInstanceOf(AuthFailed);
    await ctx.background.settled();
  });
});
