import { describe, expect, it } from 'vitest';
import { usernameChangeRun } from '../../../src/cli/commands/username.js';
import { Conflict, InvalidInput, MissingInput } from '../../../src/errors.js';
import {
  MINUTE,
  PASSWORD,
  ask,
  clock,
  createFakeFactory,
  initAlice,
  rejection,
  signInElsewhere,
} from './fake-factory.js';

describe('username change', () => {
  it("renames the account and the profile's saved session follows", async () => {
    const f = createFakeFactory();
    const session = await initAlice(f);
    await usernameChangeRun({ f, name: 'alice.w', identity: {} });
    expect(f.io.lines).toEqual(['Username changed from alice to alice.w.']);
    expect(f.prompter.asked).toEqual([]);
    expect((await f.profiles()).session()).toEqual({
      token: session.token,
      sessionId: session.sessionId,
      username: 'alice.w',
      location: f.dbPath,
    });
    expect((await (await f.backend()).status()).username).toBe('alice.w');
    // Sign-in now takes the new name.
    await expect(signInElsewhere(f, { username: 'alice.w' })).resolves.toMatchObject({ username: 'alice.w' });
  });

  it('input is trimmed and lower-cased; --json gives both names', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await usernameChangeRun({ f, name: '  Alice_2 ', identity: {} });
    expect(f.io.document()).toEqual({ username: 'alice_2', previous: 'alice' });
  });

  it('past the identity window: the password is asked', async () => {
    const f = createFakeFactory({ script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await usernameChangeRun({ f, name: 'bob', identity: {} });
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(f.io.lines).toEqual(['Username changed from alice to bob.']);
  });

  it('past the window without prompts: MissingInput, the name unchanged', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    const err = await rejection(usernameChangeRun({ f, name: 'bob', identity: {} }));
    expect(err).toBeInstanceOf(MissingInput);
    expect((await f.profiles()).session()?.username).toBe('alice');
  });

  it('an invalid name: InvalidInput naming it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(usernameChangeRun({ f, name: 'a b', identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe('invalid username "a b": use 3 to 64 characters among a-z, 0-9, ".", "_" and "-"');
    expect((err as InvalidInput).field).toBe('username');
    expect(f.io.printed).toEqual([]);
  });

  it('the same name: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(usernameChangeRun({ f, name: 'ALICE', identity: {} }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toBe('the username is already alice');
  });

  it('a name taken by another account: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await (await f.backend()).adminCreateUser({ username: 'bob', email: 'bob@example.com', reason: 'a colleague' });
    const err = await rejection(usernameChangeRun({ f, name: 'bob', identity: {} }));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toBe('the username bob is taken');
  });
});
