import { describe, expect, it } from 'vitest';
import { Unavailable } from '../../src/errors.js';
import type { Delivery, Mailer, OutgoingMail } from '../../src/mail/mailer.js';
import { checkEmailCode, sendEmailCode } from '../../src/service/email-codes.js';
import { MINUTE, testContext, withAlice } from './context.js';

// A send that fails puts back the code that was there before (no code the user never got), but only
// while the row is still its own: a send slower than the minute between codes lets a second request store
// and mail a newer code, which the first one's failure must not undo (an outside review, session 14).
describe('a failed send and a newer code', () => {
  it('the newer code keeps working when a slower, older send fails', async () => {
    let failFirst: (err: Error) => void = () => undefined;
    let calls = 0;
    const mailer: Mailer = {
      send(mail: OutgoingMail): Promise<Delivery> {
        calls++;
        if (calls === 1)
          return new Promise((_resolve, reject) => {
            failFirst = reject;
          });
        return Promise.resolve({ to: mail.to, subject: mail.subject, via: 'outbox', path: '/dev/null' } as Delivery);
      },
      notify: () => Promise.resolve(),
    };
    const ctx = testContext({ mailer });
    const { auth } = await withAlice(ctx);
    const codes: string[] = [];
    const message = (code: string) => {
      codes.push(code);
      return { subject: 'code', paragraphs: ['your code'], code };
    };
    const slow = sendEmailCode(ctx, auth.account, 'test', ['alice@example.com'], message);
    ctx.clock.advance(MINUTE + 1000);
    await sendEmailCode(ctx, auth.account, 'test', ['alice@example.com'], message);
    failFirst(new Unavailable('could not deliver mail: the server stopped answering', 'mail_failed'));
    await expect(slow).rejects.toThrow('could not deliver mail');
    expect(codes).toHaveLength(2);
    await expect(checkEmailCode(ctx, auth.account, 'test', codes[1]!, {}, 'test-key')).resolves.toBeUndefined();
  });

  it('with no newer code, the failed one is taken back', async () => {
    const mailer: Mailer = {
      send: () => Promise.reject(new Unavailable('could not deliver mail: refused', 'mail_failed')),
      notify: () => Promise.resolve(),
    };
    const ctx = testContext({ mailer });
    const { auth } = await withAlice(ctx);
    let sent = '';
    await expect(
      sendEmailCode(ctx, auth.account, 'test', ['alice@example.com'], (code) => {
        sent = code;
        return { subject: 'code', paragraphs: ['your code'], code };
      }),
    ).rejects.toThrow('could not deliver mail');
    await expect(checkEmailCode(ctx, auth.account, 'test', sent, {}, 'test-key')).rejects.toThrow();
  });
});
