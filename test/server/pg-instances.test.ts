import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { createRemoteBackend } from '../../src/backend/remote.js';
import { awayFromStepEdge, codeAt } from '../rfc6238.js';
import { BIN, Home, json, PASSWORD, type Result } from '../e2e/helpers.js';
import { freshSchema, PG_TEST_URL } from '../pg.js';

// Issue #22, "proven, not claimed": two `acctsec serve` processes on one PostgreSQL schema (the same
// ACCTSEC_DATABASE_URL, the same key), driven as clients drive them: CLI processes and HTTP.

interface Instance {
  url: string;
  process: ResultPromise;
}

async function startInstance(home: Home, database: string): Promise<Instance> {
  const server = execa('node', [BIN, 'serve', '--database', database, '--listen', '127.0.0.1:0'], {
    env: home.env,
    extendEnv: false,
    reject: false,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void server.then((r) => reject(new Error(`acctsec serve ended: ${String(r.stderr)}`)));
  });
  return { url, process: server };
}

const ok = (r: Result): Result => {
  expect(r.exitCode, r.stderr).toBe(0);
  return r;
};

describe.runIf(PG_TEST_URL)('two acctsec serve instances on one PostgreSQL database', () => {
  let home: Home;
  let schema: { url: string; drop(): void };
  let a: Instance;
  let b: Instance;
  const clients: Backend[] = [];
  /** A CLI process of its own profile, talking to `url`. */
  const cli = (url: string, profile: string, args: string[], env: Record<string, string> = {}) =>
    home.run(['--remote', url, '--profile', profile, ...args], { env: { ACCTSEC_PASSWORD: PASSWORD, ...env } });

  beforeAll(async () => {
    schema = freshSchema();
    home = new Home(false);
    // The CLI on the host (init) and the instances (serve --database) read the same database and the
    // same key file (XDG_DATA_HOME/acctsec/postgres.key): one home's environment.
    home.env.ACCTSEC_DATABASE_URL = schema.url;
    await home.init();
    delete home.env.ACCTSEC_DATABASE_URL; // the clients below talk to the servers only
    [a, b] = await Promise.all([startInstance(home, schema.url), startInstance(home, schema.url)]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const i of [a, b]) {
      i?.process.kill('SIGTERM');
      await i?.process;
    }
    await home?.remove();
    schema?.drop();
  });

  it('a token revoked through instance A is inactive at instance B on the next request', async () => {
    // alice signed in at each instance (password only: no second factor yet).
    ok(await cli(a.url, 'ra', ['login', '--username', 'alice', '--no-input']));
    ok(await cli(b.url, 'rb', ['login', '--username', 'alice', '--no-input']));
    const make = async (name: string, scope: string) =>
      json<{ token: string }>(
        ok(await cli(a.url, 'ra', ['token', 'create', '--name', name, '--scope', scope, '--json', '--no-input'])),
      ).token;
    const resourceServer = await make('resource-server', 'tokens:introspect');
    const deploy = await make('ci-deploy', 'dns:write');
    const atB = createRemoteBackend({ url: b.url, client: 'resource-server', accessToken: resourceServer });
    clients.push(atB);
    // Active at B, twice: the second answer comes from B's cache (kept while the change counter stays).
    expect(await atB.verifyToken(deploy)).toMatchObject({ active: true, scope: 'dns:write' });
    expect(await atB.verifyToken(deploy)).toMatchObject({ active: true });
    ok(await cli(a.url, 'ra', ['token', 'revoke', 'ci-deploy', '--no-input']));
    expect(await atB.verifyToken(deploy)).toEqual({ active: false });
    // And the other way round: revoked through B, refused as a credential at A at once.
    const atA = createRemoteBackend({ url: a.url, client: 'resource-server', accessToken: resourceServer });
    clients.push(atA);
    expect(await atA.verifyToken(resourceServer)).toMatchObject({ active: true });
    ok(await cli(b.url, 'rb', ['token', 'revoke', 'resource-server', '--no-input']));
    await expect(atA.verifyToken(resourceServer)).rejects.toMatchObject({ exitCode: 3 });
  }, 60_000);

  it('kill -9 of an instance in the middle of a write loop loses no acknowledged write', async () => {
    const c = await startInstance(home, schema.url);
    const signedIn = async (url: string): Promise<Backend> => {
      const anon = createRemoteBackend({ url, client: 'pg-instances-test' });
      clients.push(anon);
      const r = await anon.signIn({ username: 'alice', password: PASSWORD });
      if (r.status !== 'signed-in') throw new Error(r.status);
      const me = createRemoteBackend({ url, client: 'pg-instances-test', sessionToken: r.session.token });
      clients.push(me);
      return me;
    };
    const atC = await signedIn(c.url);
    const acknowledged: string[] = [];
    let n = 0;
    let killed = false;
    // Four writers at once (each a token: a row, an audit entry, the change counter), until C dies.
    const writer = async () => {
      while (!killed) {
        const name = `w${n++}`;
        try {
          await atC.createToken({ name, scopes: ['dns:read'], resources: [] });
          acknowledged.push(name);
        } catch {
          return; // the instance is gone: this write was not acknowledged
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    while (acknowledged.length < 20) await new Promise((r) => setTimeout(r, 10));
    c.process.kill('SIGKILL');
    killed = true;
    await Promise.all(writers);
    await c.process;
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);
    const atB = await signedIn(b.url);
    const names = new Set((await atB.listTokens()).map((t) => t.name));
    expect(acknowledged.filter((name) => !names.has(name))).toEqual([]);
    // The audit chain is whole: whatever the killed instance was writing was all or nothing.
    expect(await atB.adminVerifyAudit()).toMatchObject({ intact: true });
  }, 60_000);

  it('20 processes race one recovery code through both instances: exactly one signs in', async () => {
    // Recovery codes come with TOTP, enrolled through instance A.
    await awayFromStepEdge(2500);
    const begin = ok(await cli(a.url, 'setup', ['login', '--username', 'alice', '--no-input']));
    expect(begin.stderr).not.toMatch(/\n\s+at /);
    const enable = ok(await cli(a.url, 'setup', ['mfa', 'totp', 'enable', '--no-input', '--json']));
    const { secret } = json<{ secret: string }>(enable);
    const confirm = ok(await cli(a.url, 'setup', ['mfa', 'totp', 'confirm', '--code', codeAt(secret, -1), '--json']));
    const code = json<{ recoveryCodes: string[] }>(confirm).recoveryCodes[0]!;

    const racers = Array.from({ length: 20 }, (_, i) =>
      cli(i % 2 ? b.url : a.url, `racer${i}`, ['login', '--username', 'alice', '--no-input', '--code', code]),
    );
    const results = await Promise.all(racers);
    const winners = results.filter((r) => r.exitCode === 0);
    expect(winners, results.map((r) => `${r.exitCode} ${r.stderr.trim()}`).join('\n')).toHaveLength(1);
    for (const r of results) {
      expect(r.stderr).not.toMatch(/\n\s+at |internal/);
      // The losers: the code is spent (3), or the account's throttle holds them back while the
      // others are checked (6): an attempt counts until it succeeds.
      if (r.exitCode !== 0) expect([3, 6]).toContain(r.exitCode);
    }
    // Spent for good, at either instance.
    for (const url of [a.url, b.url]) {
      const again = await cli(url, `late-${url.slice(-5)}`, [
        'login',
        '--username',
        'alice',
        '--no-input',
        '--code',
        code,
      ]);
      expect(again.exitCode).not.toBe(0);
    }
  }, 120_000);

  it('wrong passwords spread over both instances count together: the sixth is throttled at either', async () => {
    // An unknown user is throttled as a known one is (one message for both): bob does not exist.
    const wrong = (url: string, i: number) =>
      home.run(['--remote', url, '--profile', `wrong${i}`, 'login', '--username', 'bob', '--no-input'], {
        env: { ACCTSEC_PASSWORD: 'not the password at all' },
      });
    const exits: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) exits.push((await wrong(i % 2 ? b.url : a.url, i)).exitCode);
    expect(exits).toEqual([3, 3, 3, 3, 3]);
    for (const url of [a.url, b.url]) {
      const sixth = await wrong(url, 9);
      expect(sixth.exitCode, sixth.stderr).toBe(6);
    }
  }, 60_000);
});
