import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD } from './helpers.js';

interface Session {
  id: string;
  current: boolean;
  client: string;
}

describe('acctsec sessions', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
    for (const profile of ['laptop', 'ci']) {
      const r = await home.run(['--profile', profile, 'login', '--username', 'alice'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(r.exitCode, r.stderr).toBe(0);
    }
  });
  afterEach(() => home.remove());

  it('lists every session with the current one marked', async () => {
    const list = json<Session[]>(await home.run(['sessions', 'list', '--json']));
    expect(list).toHaveLength(3);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list.map((s) => s.client).join()).toContain('profile laptop');
    const human = await home.run(['sessions', 'list']);
    expect(human.stdout).toMatch(/^ID\s+CREATED/);
  });

  it('revoke <id> ends that session only', async () => {
    const list = json<Session[]>(await home.run(['--profile', 'laptop', 'sessions', 'list', '--json']));
    const laptop = list.find((s) => s.current)!;
    const r = await home.run(['sessions', 'revoke', laptop.id]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await home.run(['--profile', 'laptop', 'status'])).exitCode).toBe(3);
    expect((await home.run(['--profile', 'ci', 'status'])).exitCode).toBe(0);
    expect((await home.run(['sessions', 'revoke', laptop.id])).exitCode).toBe(4);
  });

  it('revoke --others ends all but this one', async () => {
    const r = await home.run(['sessions', 'revoke', '--others', '--json']);
    expect(json(r)).toEqual({ revoked: 2 });
    expect((await home.run(['--profile', 'laptop', 'status'])).exitCode).toBe(3);
    expect((await home.run(['--profile', 'ci', 'status'])).exitCode).toBe(3);
    expect((await home.run(['status'])).exitCode).toBe(0);
  });

  it('refuses an id together with --others, or neither (exit 2)', async () => {
    expect((await home.run(['sessions', 'revoke'])).exitCode).toBe(2);
    expect((await home.run(['sessions', 'revoke', 'abc', '--others'])).exitCode).toBe(2);
  });
});

describe('acctsec username change', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  it('renames inside the identity window; the new name signs in, the old one does not', async () => {
    const r = await home.run(['username', 'change', 'alice.ops', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)).toEqual({ username: 'alice.ops', previous: 'alice' });
    expect(json(await home.run(['status', '--json'])).username).toBe('alice.ops');
    expect((await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode).toBe(
      3,
    );
    expect(
      (await home.run(['login', '--username', 'alice.ops'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode,
    ).toBe(0);
  });

  it.each([
    ['ab', 2],
    ['Has Space', 2],
    ['x'.repeat(65), 2],
    ['alice', 5],
  ])('refuses %s with exit %i', async (name, code) => {
    const r = await home.run(['username', 'change', name]);
    expect(r.exitCode).toBe(code);
  });
});
