import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Home, PASSWORD } from '../e2e/helpers.js';
import { startServe, type Served } from './serve.js';

// Issue #15 §2, from the outside through real HTTP: every route that takes a username without a
// session answers an existing user and an unknown name with the same status, headers and body, for
// every shape of body — wrong types, missing and extra fields, null, arrays, strings over the
// limits — and never with a 5xx. The CLI, locally, says the same for both too.

type Body = unknown;

async function post(url: string, path: string, body: Body, from: string) {
  const r = await request(`${url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' && body.startsWith('RAW:') ? body.slice(4) : JSON.stringify(body),
    // Each shape from an address of its own (the server trusts loopback as a proxy here), so the
    // per-address limit never answers in place of the route.
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
  });
  const text = await r.body.text();
  return {
    status: r.statusCode,
    challenge: r.headers['www-authenticate'],
    retry: r.headers['retry-after'],
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

const WRONG_TYPES: unknown[] = [1, 0, true, null, [], ['x'], {}, { a: 1 }];

/**
 * The shapes of one route's body: `make(U)` is a well-formed body for username U whose fields sit in
 * `at` (the top level, or a nested `input` object). Each field of a wrong type, missing, over its
 * length limit or not well-formed Unicode; an extra field inside and outside; the wrapper itself of
 * every wrong type; no body, an array, a string. Well-formed bodies that reach the account are added
 * by each route (a few only: they count toward the throttles of both names alike).
 */
function shapes(
  make: (u: string) => Record<string, unknown>,
  at: 'top' | 'input',
  limits: Record<string, number>,
): ((u: string) => Body)[] {
  const inner = (u: string) => (at === 'top' ? make(u) : (make(u).input as Record<string, unknown>));
  const wrap = (u: string, fields: Record<string, unknown>) => (at === 'top' ? fields : { ...make(u), input: fields });
  const out: ((u: string) => Body)[] = [];
  for (const field of Object.keys(inner('x'))) {
    for (const bad of WRONG_TYPES) out.push((u) => wrap(u, { ...inner(u), [field]: bad }));
    out.push((u) => {
      const { [field]: _gone, ...rest } = inner(u);
      return wrap(u, rest);
    });
    out.push((u) => wrap(u, { ...inner(u), [field]: `${String(inner(u)[field])}${'x'.repeat(limits[field] ?? 320)}` }));
    out.push((u) => wrap(u, { ...inner(u), [field]: `${String(inner(u)[field])}\ud800` }));
  }
  out.push((u) => wrap(u, { ...inner(u), extra: 'field' }));
  out.push((u) => wrap(u, { ...inner(u), __proto__: { admin: true } }));
  out.push((u) => ({ ...make(u), extra: 'field' }));
  if (at === 'input') for (const bad of WRONG_TYPES) out.push(() => ({ input: bad }));
  out.push(() => 'RAW:');
  out.push((u) => [make(u)]);
  out.push((u) => `RAW:"${u}"`);
  out.push(() => null);
  out.push((u) => `RAW:{"input":{"username":"${u}"`);
  return out;
}

const NEW_PASSWORD = 'a brand new passphrase';

const ROUTES: { path: string; bodies: ((u: string) => Body)[] }[] = [
  {
    path: '/v1/sessions',
    bodies: [
      ...shapes((u) => ({ input: { username: u, password: 'a wrong password' } }), 'input', { password: 4096 }),
      ...shapes(
        (u) => ({
          input: { username: u, password: 'a wrong password', secondFactor: { method: 'totp', code: '123456' } },
        }),
        'input',
        { password: 4096 },
      ).slice(-6),
      (u) => ({ input: { username: u, password: 'a wrong password', secondFactor: { method: 'totp', code: 1 } } }),
      (u) => ({ input: { username: u, password: 'a wrong password', secondFactor: [] } }),
      // Well-formed: they reach the account (3 of the 5 free sign-in failures of each name).
      (u) => ({ input: { username: ` ${u.toUpperCase()} `, password: 'a wrong password' } }),
      (u) => ({ input: { username: u, password: '', secondFactor: { method: 'totp', code: '123456' } } }),
      (u) => ({ input: { username: u, password: 'p'.repeat(4096), client: 'x' } }),
    ],
  },
  {
    path: '/v1/sessions/code',
    bodies: [
      ...shapes((u) => ({ input: { username: u, password: 'a wrong password', method: 'email' } }), 'input', {
        password: 4096,
      }),
      (u) => ({ input: { username: u, password: 'a wrong password', method: 'email' } }),
    ],
  },
  {
    path: '/v1/sessions/key',
    bodies: [
      ...shapes((u) => ({ input: { username: u, password: 'a wrong password' } }), 'input', { password: 4096 }),
      (u) => ({ input: { username: u, password: 'a wrong password' } }),
    ],
  },
  {
    path: '/v1/recover/code',
    bodies: [
      ...shapes((u) => ({ username: u }), 'top', {}),
      (u) => ({ username: u }),
      (u) => ({ username: ` ${u.toUpperCase()}` }),
    ],
  },
  {
    path: '/v1/recover',
    bodies: [
      ...shapes(
        (u) => ({ input: { username: u, code: '000000', newPassword: NEW_PASSWORD, method: 'email' } }),
        'input',
        { newPassword: 4096 },
      ),
      (u) => ({ input: { username: u, code: '000000', newPassword: NEW_PASSWORD, method: 'sms' } }),
      (u) => ({ input: { username: u, code: '000000', newPassword: 'short' } }),
      (u) => ({ input: { username: u, code: '000000', newPassword: `${u} is my new passphrase` } }),
      (u) => ({ input: { username: u, code: '000000', newPassword: NEW_PASSWORD } }),
      (u) => ({ input: { username: u, code: ' 000 000 ', newPassword: NEW_PASSWORD, method: 'email' } }),
      (u) => ({ input: { username: u, code: 'no-such-ceremony', newPassword: NEW_PASSWORD, method: 'key' } }),
      // Recovery QR codes (issue #20 §1): a code's secret, and a phone request's handle.
      (u) => ({ input: { username: u, code: `acsqr_${'A'.repeat(43)}`, newPassword: NEW_PASSWORD, method: 'qr' } }),
      (u) => ({ input: { username: u, code: 'not a secret', newPassword: NEW_PASSWORD, method: 'qr' } }),
      (u) => ({ input: { username: u, code: 'no-such-request', newPassword: NEW_PASSWORD, method: 'qr-phone' } }),
    ],
  },
  {
    path: '/v1/recover/token',
    bodies: [
      ...shapes((u) => ({ input: { username: u, token: 'acs_rst_notatoken', newPassword: NEW_PASSWORD } }), 'input', {
        token: 4096,
        newPassword: 4096,
      }),
      (u) => ({ input: { username: u, token: 'acs_rst_notatoken', newPassword: NEW_PASSWORD } }),
      (u) => ({ input: { username: u, token: '', newPassword: NEW_PASSWORD } }),
    ],
  },
];

/** A server with alice on it that believes X-Forwarded-For from loopback, so each request can come from an address of its own. */
async function serveAlice(): Promise<{ home: Home; served: Served }> {
  const home = new Home(false);
  const served = await startServe(home, ['--trust-proxy', '127.0.0.1/32']);
  await home.init();
  return { home, served };
}

describe('sign-in and recovery answer an existing user and an unknown name alike (issue #15)', () => {
  let home: Home;
  let served: Served;
  beforeAll(async () => {
    ({ home, served } = await serveAlice());
  });
  afterAll(async () => {
    await served.stop();
    await home.remove();
  });

  let address = 0;
  for (const route of ROUTES) {
    it(`POST ${route.path}: the same status, headers and body for every body shape, never a 5xx`, async () => {
      const statuses = new Set<number>();
      for (const [i, body] of route.bodies.entries()) {
        const from = `198.51.100.${++address % 250}`;
        const existing = await post(served.url, route.path, body('alice'), from);
        const unknown = await post(served.url, route.path, body('nobody'), from);
        expect(unknown, `shape ${i}: ${JSON.stringify(body('alice'))}`).toEqual(existing);
        expect(existing.status, `shape ${i}`).toBeLessThan(500);
        statuses.add(existing.status);
      }
      // The well-formed bodies reached the account: not every answer is the schema's 400.
      expect([...statuses].some((s) => s !== 400 && s !== 415)).toBe(true);
    });
  }

  it('POST /v1/recover/key: a ceremony alike for an existing user and an unknown name, for every body shape', async () => {
    const bodies = [
      ...shapes((u) => ({ username: u }), 'top', {}),
      (u: string) => ({ username: u }),
      (u: string) => ({ username: u.toUpperCase() }),
    ];
    const seen = async (body: Body, from: string) => {
      const r = await post(served.url, '/v1/recover/key', body, from);
      if (r.status !== 200) return r;
      const id = r.body.ceremonyId as string;
      const options = await post(served.url, '/v1/keys/ceremony/options', { ceremonyId: id }, from);
      const { challenge, ...publicKey } = options.body.publicKey as Record<string, unknown>;
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return {
        ...r,
        body: {
          ...r.body,
          ceremonyId: id.length,
          url: (r.body.url as string).replace(id, 'ID'),
          expiresAt: typeof r.body.expiresAt,
        },
        publicKey,
      };
    };
    for (const [i, body] of bodies.entries()) {
      const from = `192.0.2.${i % 250}`;
      expect(await seen(body('nobody'), from), `shape ${i}`).toEqual(await seen(body('alice'), from));
    }
  });

  it('the CLI, locally, says the same to an existing user with a wrong password and to an unknown name', async () => {
    const local = new Home(false);
    try {
      await local.init();
      // Four tries a name: within the five free failures of the sign-in throttle.
      const tries: [string, string[]][] = [
        ['a wrong password', []],
        ['a wrong password', ['--json']],
        ['p'.repeat(300), []],
        ['ünïcödé wrong pässwörd', ['--json']],
      ];
      for (const [password, extra] of tries) {
        const run = (username: string) =>
          local.run(['login', '--username', username, '--no-input', ...extra], { env: { ACCTSEC_PASSWORD: password } });
        const [existing, unknown] = [await run('alice'), await run('nobody')];
        expect(existing.exitCode).toBe(3);
        expect(unknown).toEqual(existing);
      }
      const send = async (username: string) => {
        const r = await local.run(['recover', '--username', username, '--send-code']);
        return { ...r, stdout: r.stdout.replace(username, 'U') };
      };
      expect(await send('nobody')).toEqual(await send('alice'));
    } finally {
      await local.remove();
    }
  });
});

describe('a right password from outside the IP list, through acctsec serve (issue #15)', () => {
  let home: Home;
  let served: Served;
  beforeAll(async () => {
    ({ home, served } = await serveAlice());
    const ip = await home.run(['ip', 'add', '8.8.8.0/24', '--force']);
    expect(ip.exitCode, ip.stderr).toBe(0);
  });
  afterAll(async () => {
    await served.stop();
    await home.remove();
  });

  it('gets the answer of a wrong password; the owner gets a notice naming the address, and the log the reason', async () => {
    const outbox = join(home.dir, '.local/state/acctsec/outbox');
    const before = existsSync(outbox) ? readdirSync(outbox).length : 0;
    const wrong = await post(
      served.url,
      '/v1/sessions',
      { input: { username: 'alice', password: 'a wrong password' } },
      '9.9.9.9',
    );
    const right = await post(
      served.url,
      '/v1/sessions',
      { input: { username: 'alice', password: PASSWORD } },
      '9.9.9.9',
    );
    expect(wrong).toMatchObject({
      status: 401,
      body: { error: { code: 'auth_failed', message: 'wrong username or password' } },
    });
    expect(right).toEqual(wrong);
    // Login with an emailed code, and with a key: the right password gets the same answer too. (Four
    // tries in all, so the fifth below is still within the free failures: refusals count as failures.)
    expect(
      await post(
        served.url,
        '/v1/sessions/code',
        { input: { username: 'alice', password: PASSWORD, method: 'email' } },
        '9.9.9.9',
      ),
    ).toEqual(wrong);
    expect(
      await post(served.url, '/v1/sessions/key', { input: { username: 'alice', password: PASSWORD } }, '9.9.9.9'),
    ).toEqual(wrong);
    // The notice is written after the answer; wait for it.
    const deadline = Date.now() + 5000;
    let notices: string[] = [];
    while (Date.now() < deadline && notices.length < 3) {
      notices = (existsSync(outbox) ? readdirSync(outbox).sort().slice(before) : [])
        .map((f) => readFileSync(join(outbox, f), 'utf8'))
        .filter((m) => m.includes('outside your IP restriction'));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(notices).toHaveLength(3);
    expect(notices[0]).toContain('from 9.9.9.9');
    const signedIn = await post(
      served.url,
      '/v1/sessions',
      { input: { username: 'alice', password: PASSWORD } },
      '8.8.8.8',
    );
    expect(signedIn.status).toBe(200);
    const activity = await request(`${served.url}/v1/activity?limit=20`, {
      headers: {
        authorization: `Bearer ${(signedIn.body.session as { token: string }).token}`,
        'x-forwarded-for': '8.8.8.8',
      },
    });
    const events = (await activity.body.json()) as { event: string; detail: Record<string, unknown> }[];
    expect(events.filter((e) => e.event === 'signin.refused').map((e) => e.detail)).toEqual([
      { reason: 'ip' },
      { reason: 'ip' },
      { reason: 'ip' },
    ]);
  });
});
