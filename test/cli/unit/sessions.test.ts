import { describe, expect, it } from 'vitest';
import { newCmdSessions, sessionsListRun, sessionsRevokeRun } from '../../../src/cli/commands/sessions.js';
import { AuthFailed, InvalidInput, MissingInput, NotFound } from '../../../src/errors.js';
import type { SessionView } from '../../../src/views.js';
import {
  HOUR,
  MINUTE,
  PASSWORD,
  ask,
  clock,
  createFakeFactory,
  initAlice,
  rejection,
  signInElsewhere,
} from './fake-factory.js';

const CLIENT = 'acctsec/test on unit (profile default)';

describe('sessions list', () => {
  it('a table, newest first, the current session starred, "ago" times', async () => {
    const f = createFakeFactory();
    const mine = await initAlice(f);
    clock.advance(2 * HOUR);
    const other = await signInElsewhere(f);
    clock.advance(5 * MINUTE);
    await sessionsListRun({ f });
    const w = mine.sessionId.length;
    expect(f.io.lines).toEqual([
      `${'ID'.padEnd(w + 2)}  CREATED        LAST SEEN      ADDRESS  CLIENT`,
      `${other.sessionId.padEnd(w + 2)}  5 minutes ago  5 minutes ago  -        ${CLIENT}`,
      `${mine.sessionId} *  2 hours ago    just now       -        ${CLIENT}`,
    ]);
    expect(f.io.notes).toEqual(['* this session']);
  });

  it('--json: the SessionViews, nothing on stderr', async () => {
    const f = createFakeFactory({ json: true });
    const mine = await initAlice(f);
    clock.advance(HOUR);
    await sessionsListRun({ f });
    expect(f.io.document<SessionView[]>()).toEqual([
      {
        id: mine.sessionId,
        current: true,
        client: CLIENT,
        ip: null,
        createdAt: '2026-11-23T10:00:00.000Z',
        lastSeenAt: '2026-11-23T11:00:00.000Z',
        expiresAt: '2026-11-24T11:00:00.000Z',
      },
    ]);
    expect(f.io.notes).toEqual([]);
  });
});

describe('sessions revoke', () => {
  it('by id: ends that session; its token stops working', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const other = await signInElsewhere(f);
    await sessionsRevokeRun({ f, id: other.sessionId, others: false, identity: {} });
    expect(f.io.lines).toEqual([`Ended session ${other.sessionId}.`]);
    const err = await rejection((await f.backendWith(other.token)).status());
    expect(err).toBeInstanceOf(AuthFailed);
  });

  it('--others --json: how many ended; the current one lives on', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await signInElsewhere(f);
    await signInElsewhere(f);
    await sessionsRevokeRun({ f, id: undefined, others: true, identity: {} });
    expect(f.io.document()).toEqual({ revoked: 2 });
    expect(await (await f.backend()).listSessions()).toHaveLength(1);
  });

  it('--others with one other: singular', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await signInElsewhere(f);
    await sessionsRevokeRun({ f, id: undefined, others: true, identity: {} });
    expect(f.io.lines).toEqual(['Ended 1 other session.']);
  });

  it('--json by id', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    const other = await signInElsewhere(f);
    await sessionsRevokeRun({ f, id: other.sessionId, others: false, identity: {} });
    expect(f.io.document()).toEqual({ revoked: 1, id: other.sessionId });
  });

  it('past the identity window: the password is asked', async () => {
    const f = createFakeFactory({ script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    const other = await signInElsewhere(f);
    clock.advance(11 * MINUTE);
    await sessionsRevokeRun({ f, id: other.sessionId, others: false, identity: {} });
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(f.io.lines).toEqual([`Ended session ${other.sessionId}.`]);
  });

  it('past the window without prompts: MissingInput, and the session lives on', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const other = await signInElsewhere(f);
    clock.advance(11 * MINUTE);
    const err = await rejection(sessionsRevokeRun({ f, id: other.sessionId, others: false, identity: {} }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(await (await f.backend()).listSessions()).toHaveLength(2);
  });

  it('an unknown id: NotFound naming it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(sessionsRevokeRun({ f, id: 'feedfacecafe', others: false, identity: {} }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe('no active session with id feedfacecafe; see `acctsec sessions list`');
  });

  it.each([[['revoke']], [['revoke', 'abc', '--others']]])(
    '`sessions %j`: InvalidInput, one target needed',
    async (args) => {
      const f = createFakeFactory();
      await initAlice(f);
      const err = await rejection(newCmdSessions(f).exitOverride().parseAsync(args, { from: 'user' }));
      expect(err).toBeInstanceOf(InvalidInput);
      expect(err.message).toBe('give a session id or --others (one of them)');
      expect((err as InvalidInput).field).toBe('id');
    },
  );
});
