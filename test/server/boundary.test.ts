import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import Database from 'better-sqlite3';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import { startServe, type Served } from './serve.js';

// The server's unauthenticated edge, tried from the outside through real HTTP (issue #14): who may set
// up an empty server, what a browser page or a proxy can make it do, what its answers give away.

const ALICE = { username: 'alice', email: 'alice@example.com', password: PASSWORD };

async function call(
  url: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const r = await request(`${url}${path}`, {
    method: (init.method ?? 'POST') as 'POST',
    body: init.body,
    headers: { 'content-type': 'application/json', ...init.headers },
  });
  const text = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    body: text
      ? (JSON.parse(text) as { error?: { code: string; message: string; field?: string } } & Record<string, unknown>)
      : {},
  };
}

/**
 * A refused init changes nothing: the empty database that `serve --create` made has no account, and no
 * key file was written beside it (issue #19: serve makes the database itself, only with --create).
 */
function expectStillEmpty(dir: string): void {
  expect(readdirSync(dir).filter((f) => f.startsWith('srv.db') && !/-(wal|shm)$/.test(f))).toEqual(
    expect.arrayContaining(['srv.db', 'srv.db.bootstrap-secret']),
  );
  expect(existsSync(`${dir}/srv.db.key`) && readFileSync(`${dir}/srv.db.key`, 'utf8') !== '').toBe(false);
  const db = new Database(`${dir}/srv.db`, { readonly: true });
  try {
    expect((db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n).toBe(0);
  } finally {
    db.close();
  }
}

describe('nobody claims a fresh server over the network', () => {
  let home: Home;
  let served: Served;
  beforeAll(async () => {
    home = new Home();
    served = await startServe(home);
  });
  afterAll(async () => {
    await served.stop();
    await home.remove();
  });

  it('serve writes a one-time secret beside the empty database, 0600, and logs where but never the secret', () => {
    const file = `${home.dir}/srv.db.bootstrap-secret`;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(served.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(served.stderr()).toContain(file);
    expect(served.stderr()).not.toContain(served.secret);
  });

  it('init without the secret, or with a wrong one, is 403 naming the way to bootstrap, and creates no file', async () => {
    for (const extra of [{}, { bootstrapSecret: 'guess' }, { bootstrapSecret: `${served.secret}x` }]) {
      const r = await call(served.url, '/v1/init', { body: JSON.stringify({ input: ALICE, ...extra }) });
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'bootstrap_required' });
      expect(r.body.error!.message).toContain('--bootstrap-secret-file');
    }
    // The CLI says the same, exit 7, when it has no secret to send.
    const cli = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD, ACCTSEC_BOOTSTRAP_SECRET: '' },
    });
    expect(cli.exitCode).toBe(7);
    expect(JSON.parse(cli.stderr)).toMatchObject({ error: { code: 'bootstrap_required' } });
    expectStillEmpty(home.dir);
  });

  it('an invalid init with the right secret is refused and creates no file either', async () => {
    const r = await call(served.url, '/v1/init', {
      body: JSON.stringify({ input: { ...ALICE, username: 'a!' }, bootstrapSecret: served.secret }),
    });
    expect(r.status).toBe(400);
    const wrongType = await call(served.url, '/v1/init', {
      body: JSON.stringify({ input: { ...ALICE, password: 1 }, bootstrapSecret: served.secret }),
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatchObject({ code: 'invalid_input', field: 'input.password' });
    expectStillEmpty(home.dir);
  });

  it('an unreadable key file refuses init before any account exists, naming no server path', async () => {
    const other = new Home();
    const s2 = await startServe(other);
    try {
      // What a crash between creating the key file and writing it would leave.
      writeFileSync(`${other.dir}/srv.db.key`, '', { mode: 0o600 });
      const r = await call(s2.url, '/v1/init', { body: JSON.stringify({ input: ALICE, bootstrapSecret: s2.secret }) });
      expect(r.status).toBe(400);
      expect(r.text).not.toContain(other.dir);
      expect(r.body.error?.field).toBe('key-file');
      expect(readFileSync(`${other.dir}/srv.db.key`, 'utf8')).toBe('');
      expectStillEmpty(other.dir);
    } finally {
      await s2.stop();
      await other.remove();
    }
  });

  it('a call before any account names no server path', async () => {
    const r = await call(served.url, '/v1/sessions', {
      body: JSON.stringify({ input: { username: 'alice', password: PASSWORD } }),
    });
    expect(r.status).toBeLessThan(500);
    expect(r.text).not.toContain(home.dir);
  });

  it('the secret from --bootstrap-secret-file sets the server up once; the answer names no server path; the file is gone', async () => {
    const r = await home.run(
      [
        'init',
        '--username',
        'alice',
        '--email',
        'alice@example.com',
        '--bootstrap-secret-file',
        `${home.dir}/srv.db.bootstrap-secret`,
        '--json',
      ],
      {
        env: { ACCTSEC_PASSWORD: PASSWORD, ACCTSEC_BOOTSTRAP_SECRET: '' },
      },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ username: 'alice', role: 'admin', server: served.url });
    expect(r.stdout).not.toContain(`${home.dir}/srv.db`);
    expect(existsSync(`${home.dir}/srv.db.bootstrap-secret`)).toBe(false);
    // Spent: the same secret sets nothing up again.
    const again = await call(served.url, '/v1/init', {
      body: JSON.stringify({ input: { ...ALICE, username: 'mallory' }, bootstrapSecret: served.secret }),
    });
    expect(again.status).toBe(409);
    expect(again.text).not.toContain(home.dir);
  });
});

describe('the operator sets a server up from its own host without the secret', () => {
  it("`acctsec init --db` on the server's file works; remote init is then refused and the secret file removed", async () => {
    const home = new Home();
    const served = await startServe(home);
    try {
      const local = await home.run(
        [
          '--profile',
          'direct',
          '--db',
          `${home.dir}/srv.db`,
          'init',
          '--username',
          'root',
          '--email',
          'root@example.com',
        ],
        {
          env: { ACCTSEC_REMOTE: '', ACCTSEC_BOOTSTRAP_SECRET: '', ACCTSEC_PASSWORD: PASSWORD },
        },
      );
      expect(local.exitCode, local.stderr).toBe(0);
      const remote = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(remote.exitCode).toBe(5);
      expect(existsSync(`${home.dir}/srv.db.bootstrap-secret`)).toBe(false);
      const login = await home.run(['login', '--username', 'root', '--no-input'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(login.exitCode, login.stderr).toBe(0);
      // A restart over a database with accounts writes no secret.
      await served.stop();
      const again = await startServe(home);
      expect(again.secret).toBe('');
      expect(again.stderr()).not.toContain('bootstrap');
      await again.stop();
    } finally {
      await served.stop();
      await home.remove();
    }
  });
});

describe('browsers and proxies cannot be used against it', () => {
  let home: Home;
  let served: Served;
  let token = '';
  beforeAll(async () => {
    home = new Home();
    served = await startServe(home, ['--trust-proxy', '127.0.0.0/8', '--trust-proxy', '10.0.0.0/8']);
    await home.init();
    token = json<{ token: string }>(
      await home.run(['token', 'create', '--name', 'reader', '--scope', 'account:read', '--json']),
    ).token;
  });
  afterAll(async () => {
    await served.stop();
    await home.remove();
  });

  it.each([
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
    ['multipart/form-data; boundary=x', 415],
    ['', 415],
    ['application/json; charset=utf-8', 401],
    ['application/json; charset="UTF-8"', 401],
    ['Application/JSON', 401],
    ['application/json; charset=latin1', 415],
    ['application/json-patch+json', 415],
  ])('a POST with content-type "%s" answers %i (cross-site forms cannot send JSON)', async (type, status) => {
    const headers: Record<string, string> = type ? { 'content-type': type } : {};
    const r = await request(`${served.url}/v1/sessions`, {
      method: 'POST',
      body: JSON.stringify({ input: { username: 'alice', password: 'not it at all' } }),
      headers,
    });
    expect(r.statusCode).toBe(status);
    const body = (await r.body.json()) as { error: { code: string } };
    if (status === 415) expect(body.error.code).toBe('unsupported_media_type');
  });

  it.each([
    ['evil.example', 421],
    ['evil.example:80', 421],
    ['127.0.0.1.nip.io', 421],
    ['[localhost]evil.com', 421],
    ['localhost.', 421],
    ['localhost', 200],
    ['LOCALHOST:1234', 200],
    ['127.0.0.1', 200],
    ['[::1]:7400', 200],
  ])('Host %s answers %i (DNS rebinding)', async (host, status) => {
    const r = await request(`${served.url}/healthz`, { headers: { host } });
    expect(r.statusCode).toBe(status);
    const body = (await r.body.json()) as { error?: { code: string } };
    if (status === 421) expect(body.error?.code).toBe('wrong_host');
  });

  it('the host of --public-url is accepted, another name is not', async () => {
    const other = new Home();
    const s = await startServe(other, ['--public-url', 'http://localhost:7400']);
    try {
      expect((await request(`${s.url}/healthz`, { headers: { host: 'localhost:7400' } })).statusCode).toBe(200);
      expect((await request(`${s.url}/healthz`, { headers: { host: 'acctsec.example.com' } })).statusCode).toBe(421);
    } finally {
      await s.stop();
      await other.remove();
    }
  });

  const statusFrom = (xff: string) =>
    call(served.url, '/v1/account', {
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': xff },
    });

  it.each([
    ['unknown'],
    ['198.51.100.7, unknown'],
    ['010.1.1.1'],
    ['16843009'],
    ['0x7f.1'],
    ['127.1'],
    ['198.51.100.7, 10.0.0.1, not-an-ip'],
    ['fe80::1%eth0'],
    ['[fe80::1%eth0]:443'],
    ['::ffff:010.1.1.1'],
    ['198.51.100.7:99999'],
    ['198.51.100.7,,'],
  ])(
    'X-Forwarded-For "%s" with a malformed hop where the client is looked for is refused (400), never skipped',
    async (xff) => {
      const r = await statusFrom(xff);
      expect(r.status).toBe(400);
      expect(r.body.error?.code).toBe('invalid_forwarded_for');
    },
  );

  it('X-Forwarded-For takes the rightmost hop that is not a trusted proxy, in IP, IP:port and [v6]:port forms', async () => {
    // 127.0.0.1 too: the CLI's own requests come from there (no proxy in front of it).
    const add = await home.run(['ip', 'add', '198.51.100.7', '2001:db8::7', '127.0.0.1', '--allow-private']);
    expect(add.exitCode, add.stderr).toBe(0);
    try {
      for (const ok of [
        '198.51.100.7',
        '198.51.100.7:4431',
        '[2001:db8::7]:443',
        '2001:db8::7',
        'garbage, 198.51.100.7',
        '203.0.113.1, 198.51.100.7, 10.0.0.9',
      ]) {
        const r = await statusFrom(ok);
        expect(r.status, `${ok}: ${r.text}`).toBe(200);
      }
      // The rightmost untrusted hop is the client, whatever a client wrote further left.
      // (an access token from outside its account's IP list is simply not active: 401).
      const spoofed = await statusFrom('198.51.100.7, 203.0.113.1');
      expect(spoofed.status).toBe(401);
      expect(spoofed.body.error?.code).toBe('inactive_token');
      // The IPv4-mapped form is the IPv4 address; the IPv4-compatible ::198.51.100.7 is the IPv6
      // address ::c633:6407, as the allow-list reads it, in either spelling (issue #17).
      expect((await statusFrom('::ffff:198.51.100.7')).status).toBe(200);
      for (const other of ['::198.51.100.7', '::c633:6407', '[::198.51.100.7]:443']) {
        const r = await statusFrom(other);
        expect(r.status, other).toBe(401);
        expect(r.body.error?.code).toBe('inactive_token');
      }
    } finally {
      await home.run(['ip', 'clear', '--yes']);
    }
  });

  it('a body that is not UTF-8 is refused, not patched with replacement characters', async () => {
    const r = await request(`${served.url}/v1/sessions`, {
      method: 'POST',
      body: Buffer.from('{"input":{"username":"al\xffice","password":"x"}}', 'latin1'),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.statusCode).toBe(400);
    expect(await r.body.json()).toEqual({
      error: { code: 'malformed_json', message: 'the request body is not valid UTF-8' },
    });
  });

  it('401 carries WWW-Authenticate: Bearer; the scheme is case-insensitive (RFC 7235)', async () => {
    const none = await call(served.url, '/v1/account', { method: 'GET' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer\b/);
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const r = await call(served.url, '/v1/account', {
        method: 'GET',
        headers: { authorization: `${scheme} ${token}` },
      });
      expect(r.status, scheme).toBe(200);
    }
    const dead = await call(served.url, '/v1/account', {
      method: 'GET',
      // The last character changed (to 'x', or 'y' when it was 'x': one token in 62 ends in 'x').
      headers: { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}` },
    });
    expect(dead.status).toBe(401);
    expect(dead.headers['www-authenticate']).toMatch(/^Bearer\b/);
  });

  it('405 carries Allow', async () => {
    const r = await call(served.url, '/v1/sessions', { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST, GET');
    const get = await call(served.url, '/v1/init', { method: 'GET' });
    expect(get.headers.allow).toBe('POST');
  });
});

describe('every route validates its input', () => {
  let home: Home;
  let served: Served;
  let session = '';
  beforeAll(async () => {
    home = new Home();
    served = await startServe(home);
    await home.init();
    const r = await call(served.url, '/v1/sessions', {
      body: JSON.stringify({ input: { username: 'alice', password: PASSWORD } }),
    });
    session = (r.body as { session: { token: string } }).session.token;
  });
  afterAll(async () => {
    await served.stop();
    await home.remove();
  });
  const auth = () => ({ authorization: `Bearer ${session}` });

  it.each([
    ['/v1/sessions', { input: { username: 'alice', password: 1 } }, 'input.password'],
    ['/v1/sessions', { input: null }, 'input'],
    ['/v1/sessions', { input: [] }, 'input'],
    ['/v1/ip/clear', { proof: [] }, 'proof'],
    ['/v1/sessions', { input: { username: 'alice', password: PASSWORD, admin: true } }, 'input.admin'],
    ['/v1/sessions', { input: { username: 'alice', password: PASSWORD }, extra: 1 }, 'extra'],
    ['/v1/sessions', { input: { username: 'alice' } }, 'input.password'],
    ['/v1/sessions', { input: { username: 'ali\ud800ce', password: PASSWORD } }, 'input.username'],
    ['/v1/tokens/introspect', { token: 5 }, 'token'],
    ['/v1/ip/add', { entries: 5, options: { allowPrivate: false, force: false } }, 'entries'],
    [
      '/v1/ip/add',
      { entries: [{ text: '1.1.1.1' }], options: { allowPrivate: 'yes', force: false } },
      'options.allowPrivate',
    ],
    ['/v1/notifications/format', { format: ['html'] }, 'format'],
    ['/v1/notifications/newsletters', { lists: 'product', subscribed: true }, 'lists'],
    ['/v1/notifications/organizations', { org: 'acme', on: 'on' }, 'on'],
    ['/v1/mfa/totp/disable', { code: '123456', acknowledgeLast: 'true' }, 'acknowledgeLast'],
    [
      '/v1/keys/ceremony/answer',
      {
        ceremonyId: 'x',
        answer: { response: { id: 'a', rawId: 'a', type: 'other', response: { clientDataJSON: 'x' } } },
      },
      'answer.response.type',
    ],
  ])('POST %s with %j is 400 invalid_input naming %s, and reaches nothing', async (path, body, field) => {
    const r = await call(served.url, path, { body: JSON.stringify(body), headers: auth() });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_input', field });
    expect(r.body.error!.message).toContain(field);
    // The value itself is never echoed (it may be a password).
    expect(r.body.error!.message).not.toContain(PASSWORD);
  });

  it.each([
    ['/v1/activity?limit=%22abc%22', 'limit'],
    ['/v1/activity?limit=abc', 'limit'],
    ['/v1/activity?limit=0', 'limit'],
    ['/v1/activity?limit=1.5', 'limit'],
    ['/v1/activity?limit=5&limit=6', 'limit'],
    ['/v1/activity?limit=5&sort=1', 'sort'],
    ['/v1/admin/audit?filter=%7B%22limit%22%3A%22x%22%7D', 'filter.limit'],
  ])('GET %s is 400 naming %s', async (path, field) => {
    const r = await call(served.url, path, { method: 'GET', headers: auth() });
    expect(r.status, r.text).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_input', field });
  });

  it('a body that is not an object is 400, malformed JSON is 400, and notification settings keep no junk', async () => {
    for (const body of ['null', '[]', '5', '"x"']) {
      const r = await call(served.url, '/v1/notifications/format', { body, headers: auth() });
      expect(r.status, body).toBe(400);
      expect(r.body.error?.code).toBe('invalid_input');
    }
    expect(
      (await call(served.url, '/v1/notifications/format', { body: '{"format": ', headers: auth() })).body.error?.code,
    ).toBe('malformed_json');
    const settings = await home.run(['notifications', 'show', '--json']);
    expect(json(settings).format).toBe('html');
  });

  it('the server log has no stack trace', () => {
    expect(served.stderr()).not.toMatch(/\n\s+at |internal error/);
  });
});

describe('introspection judges the address it is given, for every token alike', () => {
  it('a malformed ip is 400 whether the token is live or not, does not count against the caller, and only normal forms are stored', async () => {
    const home = new Home();
    const served = await startServe(home);
    try {
      await home.init();
      const caller = json<{ token: string }>(
        await home.run(['token', 'create', '--name', 'rs', '--scope', 'tokens:introspect', '--json']),
      ).token;
      const live = json<{ token: string }>(
        await home.run(['token', 'create', '--name', 'live', '--scope', 'dns:read', '--json']),
      ).token;
      const ask = (token: string, ip: string) =>
        call(served.url, '/v1/tokens/introspect', {
          body: new URLSearchParams({ token, ip }).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${caller}` },
        });
      for (let i = 0; i < 35; i++) {
        for (const token of [live, 'acs_garbage']) {
          const r = await ask(token, '\u001b[31mEVIL\u001b[0m<script>');
          expect(r.status).toBe(400);
          expect(r.body.error).toMatchObject({ code: 'invalid_input', field: 'ip' });
        }
      }
      // 70 refusals of a malformed value: the caller's address is not locked out.
      expect((await ask(live, '::ffff:198.51.100.7')).body).toMatchObject({ active: true });
      const list = json<{ name: string; lastUsedIp: string | null }[]>(await home.run(['token', 'list', '--json']));
      expect(list.find((t) => t.name === 'live')?.lastUsedIp).toBe('198.51.100.7');
    } finally {
      await served.stop();
      await home.remove();
    }
  });
});

describe('a store fault during a batch of introspections', () => {
  it('answers each request with an error and keeps serving; the next batch after the repair answers again', async () => {
    const home = new Home();
    const served = await startServe(home);
    const other = () => new Database(`${home.dir}/srv.db`, { timeout: 10_000 });
    try {
      await home.init();
      const caller = json<{ token: string }>(
        await home.run(['token', 'create', '--name', 'rs', '--scope', 'tokens:introspect', '--json']),
      ).token;
      const live = json<{ token: string }>(
        await home.run(['token', 'create', '--name', 'live', '--scope', 'dns:read', '--json']),
      ).token;
      const ask = () =>
        call(served.url, '/v1/tokens/introspect', {
          body: JSON.stringify({ token: live }),
          headers: { authorization: `Bearer ${caller}` },
        });
      expect((await ask()).body).toMatchObject({ active: true });
      // The counter a batch reads first disappears (another process drops its table).
      const db = other();
      const saved = db.prepare('SELECT n FROM change_generation').pluck().get() as number;
      db.exec('DROP TABLE change_generation');
      const during = await Promise.all(Array.from({ length: 8 }, ask));
      for (const r of during) {
        expect(r.status).toBe(500);
        expect(r.body.error).toEqual({ code: 'internal', message: 'internal server error' });
      }
      expect((await call(served.url, '/healthz', { method: 'GET' })).status).toBe(200);
      db.exec(
        `CREATE TABLE change_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL); INSERT INTO change_generation VALUES (1, ${saved + 1})`,
      );
      db.close();
      const after = await Promise.all(Array.from({ length: 8 }, ask));
      for (const r of after) expect(r.body).toMatchObject({ active: true });
      expect(served.stderr()).toContain('no such table: change_generation');
    } finally {
      await served.stop();
      await home.remove();
    }
  });
});

describe('plain http only on this machine', () => {
  it('--remote http:// to another host is refused (exit 2) unless --insecure-http', async () => {
    const home = new Home();
    try {
      for (const url of [
        'http://acctsec.invalid:7400',
        'http://anything.localhost:7400',
        'http://127.0.0.1@acctsec.invalid',
        'HTTP://ACCTSEC.INVALID',
      ]) {
        const r = await home.run(['--remote', url, 'status']);
        expect(r.exitCode, url).toBe(2);
        expect(r.stderr).toContain('--insecure-http');
      }
      const insecure = await home.run(['--insecure-http', '--remote', 'http://acctsec.invalid:7400', 'status']);
      expect(insecure.exitCode).toBe(8);
      for (const ok of ['http://127.0.0.1:9', 'http://localhost:9', 'http://[::1]:9'])
        expect((await home.run(['--remote', ok, 'status'])).exitCode, ok).toBe(8);
    } finally {
      await home.remove();
    }
  });
});
