import { describe, expect, it } from 'vitest';
import { activityRun, newCmdActivity } from '../../../src/cli/commands/activity.js';
import { AuthFailed } from '../../../src/errors.js';
import type { ActivityEntry } from '../../../src/views.js';
import { MINUTE, PASSWORD, clock, createFakeFactory, initAlice, rejection } from './fake-factory.js';

describe('activity', () => {
  it('newest first, with the detail as key=value', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    clock.advance(5 * MINUTE);
    const backend = await f.backend();
    await backend.createToken({ name: 'ci', scopes: ['account:read'], resources: [], expires: '30d' });
    clock.advance(20 * MINUTE);
    await backend.revokeToken('ci', { password: PASSWORD });
    await activityRun({ f, limit: 20 });
    const [header, ...rows] = f.io.lines;
    expect(header).toMatch(/^TIME {14}EVENT {2,}DETAIL {2,}ADDRESS$/);
    expect(rows.map((r) => r.replace(/ +/g, ' ').trim())).toEqual([
      expect.stringMatching(/^2026-11-23 10:25 token\.revoked id=\w+ name=ci$/),
      '2026-11-23 10:25 identity.confirmed method=password',
      expect.stringMatching(
        /^2026-11-23 10:05 token\.created id=\w+ name=ci scopes=account:read expiresAt=2026-12-23T10:05:00\.000Z$/,
      ),
      // Issue #20 §3: init sends a code to confirm the address.
      '2026-11-23 10:00 email_code.sent purpose=account-email:alice@example.com to=1',
      '2026-11-23 10:00 account.created role=admin',
    ]);
  });

  it('--limit keeps the newest n', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    clock.advance(MINUTE);
    await (await f.backend()).createToken({ name: 'ci', scopes: ['account:read'], resources: [], expires: '30d' });
    await activityRun({ f, limit: 1 });
    const entries = f.io.document<ActivityEntry[]>();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ time: '2026-11-23T10:01:00.000Z', event: 'token.created', ip: null });
  });

  it('--json: the entries with their session', async () => {
    const f = createFakeFactory({ json: true });
    const session = await initAlice(f);
    await activityRun({ f, limit: 20 });
    expect(f.io.document()).toEqual([
      {
        time: '2026-11-23T10:00:00.000Z',
        event: 'email_code.sent',
        detail: { purpose: 'account-email:alice@example.com', to: 1 },
        ip: null,
        sessionId: null,
      },
      {
        time: '2026-11-23T10:00:00.000Z',
        event: 'account.created',
        detail: { role: 'admin' },
        ip: null,
        sessionId: session.sessionId,
      },
    ]);
  });

  it('a failed sign-in is in the log', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await (
      await f.backendWith(undefined)
    )
      .signIn({ username: 'alice', password: 'wrong password, surely' })
      .catch(() => undefined);
    await activityRun({ f, limit: 20 });
    expect(f.io.document<ActivityEntry[]>()[0]).toEqual({
      time: '2026-11-23T10:00:00.000Z',
      event: 'signin.failed',
      detail: { reason: 'password' },
      ip: null,
      sessionId: null,
    });
  });

  it('--limit is checked by the command: 1 to 1000', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const cmd = newCmdActivity(f)
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    const err = await rejection(cmd.parseAsync(['--limit', '0'], { from: 'user' }));
    expect(err.message).toBe(
      "error: option '--limit <n>' argument '0' is invalid. \"0\" is not a number from 1 to 1000",
    );
    expect(f.io.printed).toEqual([]);
  });

  it('not signed in: AuthFailed', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await (await f.profiles()).clearSession();
    await expect(activityRun({ f, limit: 20 })).rejects.toBeInstanceOf(AuthFailed);
  });
});
