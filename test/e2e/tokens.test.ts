import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json } from './helpers.js';

interface Created {
  id: string;
  name: string;
  token: string;
  scopes: string[];
  resources: string[];
  expiresAt: string;
}

describe('acctsec token and apikey', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  const create = async (args: string[]) => {
    const r = await home.run(['token', 'create', '--json', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return json<Created>(r);
  };
  const verify = (token: string, args: string[] = []) =>
    home.run(['token', 'verify', '--json', ...args], { input: `${token}\n` });

  it('create → verify active with its scopes → revoke → verify inactive (exit 3, JSON either way)', async () => {
    const t = await create([
      '--name',
      'ci',
      '--scope',
      'dns:read',
      '--scope',
      'domains:write',
      '--resource',
      'domain:example.com',
      '--expires',
      '90d',
    ]);
    expect(Object.keys(t).sort()).toEqual(['expiresAt', 'id', 'name', 'resources', 'scopes', 'token']);
    const ok = await verify(t.token);
    expect(ok.exitCode).toBe(0);
    const exp = Math.floor(Date.parse(t.expiresAt) / 1000);
    // RFC 7662 §2.2's members and SPEC §7's, the same locally and remotely.
    expect(json(ok)).toEqual({
      active: true,
      scope: 'dns:read domains:write',
      exp,
      iat: expect.any(Number) as unknown,
      sub: expect.any(String) as unknown,
      username: 'alice',
      token_type: 'Bearer',
      account: 'alice',
      scopes: ['dns:read', 'domains:write'],
      resources: ['domain:example.com'],
      expiresAt: t.expiresAt,
      deprecated: false,
    });
    expect(json<{ iat: number }>(ok).iat).toBeLessThanOrEqual(Date.now() / 1000);
    expect((await home.run(['token', 'revoke', 'ci'])).exitCode).toBe(0);
    const no = await verify(t.token);
    expect(no.exitCode).toBe(3);
    // Nothing about a token that is not active (RFC 7662 §2.2).
    expect(json(no)).toEqual({ active: false });
  });

  it('rotate gives a new secret and ends the old one', async () => {
    const t = await create(['--name', 'deploy', '--scope', 'dns:write']);
    const r = await home.run(['token', 'rotate', 'deploy', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const fresh = json<Created>(r);
    expect(fresh.name).toBe('deploy');
    expect((await verify(t.token)).exitCode).toBe(3);
    expect((await verify(fresh.token)).exitCode).toBe(0);
  });

  it('refuses a date in the past, beyond 366 days, and an unknown scope (exit 2); a taken name is exit 5', async () => {
    for (const [args, message] of [
      [['--expires', '2020-01-01'], 'in the past'],
      [['--expires', '500d'], 'at most 366 days'],
      [['--scope', 'root:all'], 'unknown scope'],
    ] as [string[], string][]) {
      const r = await home.run(['token', 'create', '--name', 'x', '--scope', 'dns:read', ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(message);
    }
    await create(['--name', 'x', '--scope', 'dns:read']);
    expect((await home.run(['token', 'create', '--name', 'x', '--scope', 'dns:read'])).exitCode).toBe(5);
  });

  it('one changed character fails the checksum: inspect says so offline, verify says inactive', async () => {
    const t = await create(['--name', 'ci', '--scope', 'dns:read']);
    const i = 10;
    const typo = t.token.slice(0, i) + (t.token[i] === 'a' ? 'b' : 'a') + t.token.slice(i + 1);
    const inspect = await home.run(['--db', '/nonexistent/none.db', 'token', 'inspect'], { input: typo });
    expect(inspect.exitCode).toBe(0);
    expect(inspect.stdout).toContain('checksum does not match');
    expect((await home.run(['token', 'inspect'], { input: t.token })).stdout).toContain(
      'well-formed acctsec personal access token',
    );
    expect((await verify(typo)).exitCode).toBe(3);
  });

  it("--ip outside the account's list makes it inactive; list shows the last use and its address", async () => {
    const t = await create(['--name', 'ci', '--scope', 'dns:read']);
    // 127.0.0.1 too: in remote mode the server applies the list to these very requests.
    await home.run(['ip', 'add', '8.8.8.0/24', '127.0.0.1', '--allow-private', '--force']);
    expect((await verify(t.token, ['--ip', '9.9.9.9'])).exitCode).toBe(3);
    expect((await verify(t.token, ['--ip', '8.8.8.8'])).exitCode).toBe(0);
    const [row] = json<{ lastUsedIp: string; lastUsedAt: string; state: string }[]>(
      await home.run(['token', 'list', '--json']),
    );
    expect(row).toMatchObject({ lastUsedIp: '8.8.8.8', state: 'active' });
    expect(typeof row!.lastUsedAt).toBe('string');
  });

  it('list, status and every --json output never contain a secret; neither does the database file', async () => {
    const t = await create(['--name', 'ci', '--scope', 'dns:read']);
    const gen = await home.run(['apikey', 'generate', '--yes', '--json']);
    expect(gen.exitCode, gen.stderr).toBe(0);
    expect(gen.stderr).toContain('deprecated');
    const key = json<{ key: string }>(gen).key;
    expect(key).toMatch(/^acsk_/);
    for (const args of [
      ['token', 'list'],
      ['token', 'list', '--json'],
      ['status', '--json'],
      ['apikey', 'show', '--json'],
      ['activity', '--json'],
    ]) {
      const r = await home.run(args);
      expect(r.stdout + r.stderr).not.toContain(t.token);
      expect(r.stdout + r.stderr).not.toContain(key);
      expect(r.stdout + r.stderr).not.toContain(t.token.slice(4, 20));
    }
    const bytes = Buffer.concat([home.dbPath, `${home.dbPath}-wal`].filter(existsSync).map((f) => readFileSync(f)));
    expect(bytes.includes(t.token)).toBe(false);
    expect(bytes.includes(t.token.slice(4))).toBe(false);
    expect(bytes.includes(key)).toBe(false);
    expect(bytes.includes(key.slice(5))).toBe(false);
  });

  it('the API key: every command warns; generate needs --yes; verify says deprecated; migrate replaces it with a token', async () => {
    const noYes = await home.run(['apikey', 'generate']);
    expect(noYes.exitCode).toBe(2);
    const key = json<{ key: string }>(await home.run(['apikey', 'generate', '--yes', '--json'])).key;
    const v = await verify(key);
    expect(json(v)).toMatchObject({ active: true, deprecated: true });
    const show = await home.run(['apikey', 'show']);
    expect(show.stderr).toContain('deprecated');
    const m = await home.run(['apikey', 'migrate', '--json']);
    expect(m.exitCode, m.stderr).toBe(0);
    const token = json<Created>(m);
    expect(token.scopes).toContain('ip:write');
    expect((await verify(key)).exitCode).toBe(3);
    expect((await verify(token.token)).exitCode).toBe(0);
    expect(json(await home.run(['status', '--json']))).toMatchObject({ legacyApiKey: false, tokens: { active: 1 } });
  });

  it('a token as an argument is refused: it comes from stdin', async () => {
    const r = await home.run(['token', 'verify', 'acs_something']);
    expect(r.exitCode).toBe(2);
  });
});
