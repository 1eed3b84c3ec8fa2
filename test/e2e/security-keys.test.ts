import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, KeyBrowser } from './browser.js';
import { Home, json, PASSWORD, REMOTE, type Result } from './helpers.js';
import { Terminal } from './tmux.js';

// SPEC §4.3 end to end: the built CLI (or a remote `acctsec serve`) serves the ceremony page, and
// Debian's Chromium with a CDP virtual authenticator plays the user's security key.

const PAGE_URL = /open (http:\/\/localhost:\d+\/webauthn#([A-Za-z0-9_-]+))/;
const NEW_PASSWORD = 'a different passphrase 77';

interface KeyJson {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  transports: string[];
}

// Without Chromium the browser tests are skipped on a developer machine; CI installs it, and fails without it.
describe.skipIf(!HAVE_CHROMIUM && !process.env.CI)('security keys in a real browser (virtual authenticator)', () => {
  let home: Home;
  let browser: KeyBrowser;

  beforeAll(async () => {
    home = new Home();
    await home.init();
    browser = await KeyBrowser.launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await home?.remove();
  });

  /** Runs a command that shows a ceremony page, completes it in the browser, and returns the command's result. */
  async function withBrowser(
    args: string[],
    env: Record<string, string> = {},
    act?: (url: string, ceremonyId: string) => Promise<unknown>,
  ): Promise<Result> {
    const run = await home.start(args, PAGE_URL, { env });
    const m = await run.match;
    if (act) await act(m[1]!, m[2]!);
    else expect(await browser.complete(m[1]!)).toBe('ok');
    return run.done;
  }

  const loginWithKey = (act?: (url: string, id: string) => Promise<unknown>) =>
    withBrowser(
      ['login', '--username', 'alice', '--method', 'key', '--no-open', '--json'],
      { ACCTSEC_PASSWORD: PASSWORD },
      act,
    );

  const keys = async () => json<KeyJson[]>(await home.run(['mfa', 'key', 'list', '--json']));

  it('adds a key after confirming the password, with 10 recovery codes, and lists it', async () => {
    const r = await withBrowser(['mfa', 'key', 'add', '--name', 'yubikey', '--no-open', '--json'], {
      ACCTSEC_PASSWORD: PASSWORD,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const added = json<{ key: KeyJson; recoveryCodes: string[] }>(r);
    expect(added.key.name).toBe('yubikey');
    expect(added.recoveryCodes).toHaveLength(10);
    const list = await keys();
    expect(list.map((k) => k.name)).toEqual(['yubikey']);
    expect(list[0]!.lastUsedAt).toBeNull();
    const human = await home.run(['mfa', 'key', 'list']);
    expect(human.stdout).toMatch(/^NAME\s+ID\s+ADDED\s+LAST USED/m);
    expect(human.stdout).toMatch(/yubikey\s+sk_[0-9a-f]+\s+.*never/);
    const status = json<{ methods: { type: string; enabled: boolean; keys?: number }[] }>(
      await home.run(['mfa', 'status', '--json']),
    );
    expect(status.methods.find((m) => m.type === 'key')).toMatchObject({ enabled: true, keys: 1 });
    // The browser's authenticator holds the credential; the store has only its public key.
    expect(await browser.credentials()).toHaveLength(1);
  }, 60_000);

  it('with keys and no app, the recovery codes are viewed and renewed with the key', async () => {
    const viewed = await withBrowser(['recovery-codes', 'view', '--no-open', '--json']);
    expect(viewed.exitCode, viewed.stderr).toBe(0);
    const before = json<{ codes: string[] }>(viewed).codes;
    expect(before).toHaveLength(10);
    const renewed = await withBrowser(['recovery-codes', 'regenerate', '--no-open', '--json']);
    expect(renewed.exitCode, renewed.stderr).toBe(0);
    const after = json<{ codes: string[] }>(renewed).codes;
    expect(after).toHaveLength(10);
    expect(after.filter((c) => before.includes(c))).toEqual([]);
    // The app is not active: a --code is refused, naming the way that works.
    const app = await home.run(['recovery-codes', 'view', '--code', '123456']);
    expect(app.exitCode).toBe(2);
    expect(app.stderr).toContain('--method key');
  }, 60_000);

  it('a second key needs a key (or another method), not the password alone', async () => {
    // With a key active, identity is confirmed with a method, not the password alone.
    const refused = await home.run(['mfa', 'key', 'add', '--name', 'spare', '--no-open'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--method key');
  }, 30_000);

  it('signs in with the key in place of a code, and the sign-in needs a second factor without it', async () => {
    const bare = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain('key');
    const r = await loginWithKey();
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json<{ username: string }>(r).username).toBe('alice');
    expect((await home.run(['status'])).exitCode).toBe(0);
    expect((await keys())[0]!.lastUsedAt).not.toBeNull();
  }, 60_000);

  it('at a prompt, login offers the key among the methods and waits for the browser', async () => {
    await home.run(['logout']);
    const term = await Terminal.start(home, ['login', '--username', 'alice', '--no-open']);
    try {
      await term.waitFor('Password:');
      await term.type(PASSWORD);
      const menu = await term.waitFor('Second factor:');
      expect(menu).toContain('Security key');
      await term.keys('Enter'); // the first choice: the key
      const url = PAGE_URL.exec((await term.waitFor(PAGE_URL)).replace(/\n/g, ''))![1]!;
      expect(await browser.complete(url)).toBe('ok');
      expect(await term.waitFor('[exit 0]')).toContain('Signed in as alice');
    } finally {
      await term.stop();
    }
  }, 60_000);

  it('refuses an earlier answer replayed into a new sign-in, and a tampered signature', async () => {
    const captured = JSON.parse(browser.answers.at(-1)!) as {
      ceremonyId: string;
      answer: { response: { response: { signature: string } } };
    };
    // Replay: the answer of the last sign-in, posted to a new ceremony (its challenge differs).
    const replay = await loginWithKey(async (url, id) => {
      // The page itself: its own script only, never framed; the CLI's page server serves nothing but the ceremony.
      const page = await fetch(url);
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      if (!REMOTE) expect((await fetch(new URL('/v1/account', url))).status).toBe(404);
      const res = await fetch(new URL('/v1/keys/ceremony/answer', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ceremonyId: id, answer: captured.answer }),
      });
      expect(res.status).toBe(200);
      // A ceremony takes one answer: a second one is turned away.
      const again = await fetch(new URL('/v1/keys/ceremony/answer', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ceremonyId: id, answer: captured.answer }),
      });
      expect(again.status).toBe(404);
    });
    expect(replay.exitCode).toBe(3);
    expect(replay.stderr).toMatch(/did not verify/);

    // Tampering: the browser's own answer with one bit of the signature flipped on its way out.
    await browser.page.route('**/v1/keys/ceremony/answer', async (route) => {
      const body = JSON.parse(route.request().postData()!) as typeof captured;
      const sig = Buffer.from(body.answer.response.response.signature, 'base64url');
      sig[sig.length - 1]! ^= 1;
      body.answer.response.response.signature = sig.toString('base64url');
      await route.continue({ postData: JSON.stringify(body) });
    });
    try {
      const tampered = await loginWithKey(async (url) => expect(await browser.complete(url)).toBe('ok'));
      expect(tampered.exitCode).toBe(3);
      expect(tampered.stderr).toMatch(/did not verify/);
    } finally {
      await browser.page.unroute('**/v1/keys/ceremony/answer');
    }
    // The real key still works afterwards.
    expect((await loginWithKey()).exitCode).toBe(0);
  }, 90_000);

  it('refuses a key whose signature counter went backwards (a clone)', async () => {
    const [credential] = await browser.credentials();
    expect(credential!.signCount).toBeGreaterThan(1);
    await browser.rewindCounter(credential!, 0);
    const r = await loginWithKey();
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/counter.*cloned/);
    // Put the counter back ahead of the stored one: the genuine key is accepted again.
    const [rewound] = await browser.credentials();
    await browser.rewindCounter(rewound!, credential!.signCount + 10);
    expect((await loginWithKey()).exitCode).toBe(0);
  }, 90_000);

  it('renames a key; a clash or an unknown name changes nothing', async () => {
    expect((await home.run(['mfa', 'key', 'rename', 'yubikey', 'blue'])).exitCode).toBe(0);
    expect((await keys()).map((k) => k.name)).toEqual(['blue']);
    const unknown = await home.run(['mfa', 'key', 'rename', 'nope', 'x']);
    expect(unknown.exitCode).toBe(4);
    expect(unknown.stderr).toContain('"nope"');
    expect((await home.run(['mfa', 'key', 'rename', 'blue', 'blue'])).exitCode).toBe(5);
    expect((await home.run(['mfa', 'key', 'rename', 'blue', ' '])).exitCode).toBe(2);
  }, 30_000);

  it('recovers the account with the key: a new password, every session signed out', async () => {
    const r = await withBrowser(['recover', '--username', 'alice', '--method', 'key', '--no-open', '--json'], {
      ACCTSEC_NEW_PASSWORD: NEW_PASSWORD,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json<{ username: string }>(r).username).toBe('alice');
    expect((await home.run(['status'])).exitCode).toBe(3);
    const signIn = await withBrowser(['login', '--username', 'alice', '--method', 'key', '--no-open'], {
      ACCTSEC_PASSWORD: NEW_PASSWORD,
    });
    expect(signIn.exitCode, signIn.stderr).toBe(0);
  }, 60_000);

  it('removes the last key with a key assertion and --yes; the recovery codes go with it', async () => {
    const noYes = await home.run(['mfa', 'key', 'remove', 'blue', '--no-open', '--no-input']);
    expect(noYes.exitCode).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    const r = await withBrowser(['mfa', 'key', 'remove', 'blue', '--no-open', '--yes', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json<{ removed: string; remainingMethods: string[] }>(r)).toEqual({ removed: 'blue', remainingMethods: [] });
    expect(await keys()).toEqual([]);
    const status = json<{ methods: { type: string; enabled: boolean }[]; recoveryCodesLeft: number | null }>(
      await home.run(['mfa', 'status', '--json']),
    );
    expect(status.methods.find((m) => m.type === 'key')?.enabled).toBe(false);
    expect(status.recoveryCodesLeft).toBeNull();
    // Password alone signs in again.
    expect(
      (await home.run(['login', '--username', 'alice', '--no-input'], { env: { ACCTSEC_PASSWORD: NEW_PASSWORD } }))
        .exitCode,
    ).toBe(0);
  }, 60_000);
});

describe('security key commands refuse bad input before anything starts', () => {
  let home: Home;
  beforeAll(async () => {
    home = new Home();
    await home.init();
  }, 30_000);
  afterAll(() => home.remove());

  it('a bad --timeout, a bad name, or a sign-in with a key the account does not have (exit 2, one line)', async () => {
    const t = await home.run(['mfa', 'key', 'add', '--name', 'blue', '--timeout', '1', '--no-open'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(t.exitCode).toBe(2);
    expect(t.stderr.trim()).toBe('acctsec: invalid --timeout "1": whole seconds from 5 to 300');
    const n = await home.run(['mfa', 'key', 'add', '--name', ' ', '--no-open'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(n.exitCode).toBe(2);
    expect(n.stderr).toContain('invalid key name " "');
    const l = await home.run(['login', '--username', 'alice', '--method', 'key', '--no-open'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(l.exitCode).toBe(2);
    expect(l.stderr).toContain('"key" is not an active method');
    expect(json<unknown[]>(await home.run(['mfa', 'key', 'list', '--json']))).toEqual([]);
    const rm = await home.run(['mfa', 'key', 'remove', 'blue', '--no-open']);
    expect(rm.exitCode).toBe(4);
  }, 30_000);
});

describe('the ceremony page is opened in the browser, and the wait has a limit', () => {
  it('without --no-open, $BROWSER gets the printed URL; with no answer, the command ends after --timeout (exit 3), nothing added', async () => {
    const home = new Home();
    try {
      await home.init();
      const opened = join(home.dir, 'opened.txt');
      const browser = join(home.dir, 'browser.sh');
      const environ = join(home.dir, 'browser-env.txt');
      writeFileSync(browser, `#!/bin/sh\nenv > '${environ}'\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
      const started = Date.now();
      const r = await home.run(['mfa', 'key', 'add', '--name', 'blue', '--timeout', '5'], {
        env: { ACCTSEC_PASSWORD: PASSWORD, BROWSER: browser, PGPASSWORD: 'a-database-secret' },
      });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toContain('no answer from the browser within 5 s');
      expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
      expect(readFileSync(opened, 'utf8')).toBe(PAGE_URL.exec(r.stderr)![1]);
      // The browser outlives the command: it gets none of the secrets the command was given.
      const browserEnvironment = readFileSync(environ, 'utf8');
      expect(browserEnvironment).toMatch(/^BROWSER=/m);
      expect(browserEnvironment).not.toContain(PASSWORD);
      expect(browserEnvironment).not.toMatch(/^(ACCTSEC_|PGPASSWORD=)/m);
      expect(browserEnvironment).not.toContain('a-database-secret');
      expect(json<unknown[]>(await home.run(['mfa', 'key', 'list', '--json']))).toEqual([]);
    } finally {
      await home.remove();
    }
  }, 30_000);
});
