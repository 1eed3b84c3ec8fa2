import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import * as jpeg from 'jpeg-js';
import * as jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { CHROMIUM, HAVE_CHROMIUM } from './browser.js';
import { BIN, freePort, Home, json, PASSWORD, REMOTE } from './helpers.js';
import { Terminal } from './tmux.js';

// QR-code recovery (issue #20 §1) end to end, through the built CLI: the printable sheet read back by
// Debian's zbarimg (zbar-tools, default settings) and by jsQR, `recover --qr-image` with it, single
// use across processes, status and revoke; and the phone's way against a real `acctsec serve
// --public-url`, the test playing the phone with real HTTP requests to the page the code opens.

const NEW_PASSWORD = 'a different passphrase 77';
const HAVE_ZBAR = (() => {
  try {
    execFileSync('zbarimg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// jsqr is CommonJS typed as an ES default export: under NodeNext the callable is its `default`.
type Decode = (data: Uint8ClampedArray, width: number, height: number) => jsQRModule.QRCode | null;
const jsQR =
  (jsQRModule as unknown as { default: { default?: Decode } & Decode }).default.default ??
  (jsQRModule as unknown as { default: Decode }).default;

function jsQrText(path: string): string | undefined {
  const png = PNG.sync.read(readFileSync(path));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

describe('recovery QR code: the sheet, and recover --qr-image', () => {
  let home: Home;
  /** Which of the parallel recoveries won: its password is the account's. */
  let lastWinner = 0;
  beforeAll(async () => {
    home = new Home();
    await home.init();
  }, 60_000);
  afterAll(() => home?.remove());

  it('status says none; create --output kit.png writes a 0600 PNG that zbarimg and jsQR read', async () => {
    const none = await home.run(['recovery', 'qr', 'status', '--json']);
    expect(none.exitCode, none.stderr).toBe(0);
    expect(json(none)).toEqual({ exists: false, createdAt: null });
    const kit = join(home.dir, 'kit.png');
    const r = await home.run(['recovery', 'qr', 'create', '--output', kit, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const created = json<{ createdAt: string; replaced: boolean; phone: boolean; file: string }>(r);
    expect(Object.keys(created).sort()).toEqual(['createdAt', 'file', 'phone', 'replaced']);
    expect(created).toMatchObject({ replaced: false, phone: false, file: kit });
    expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(statSync(kit).mode & 0o777).toBe(0o600);
    // The account, the date and the instructions also travel in the PNG's text chunks.
    const bytes = readFileSync(kit).toString('latin1');
    expect(bytes).toContain('tEXtTitle\0Recovery QR code for the acctsec account alice');
    expect(bytes).toMatch(/tEXtDescription\0Made \d{4}-\d\d-\d\d \d\d:\d\d UTC\./);
    const fromJs = jsQrText(kit);
    expect(fromJs).toMatch(/^acsqr_[A-Za-z0-9_-]{43}$/);
    // A printable page, not the bare code: the title printed above the code and the date and the
    // instructions below it (rows with ink outside the code's own rows).
    const page = PNG.sync.read(readFileSync(kit));
    const found = jsQR(new Uint8ClampedArray(page.data), page.width, page.height)!;
    const inked = (y: number) => {
      for (let x = 0; x < page.width; x++) if (page.data[(y * page.width + x) * 4]! < 128) return true;
      return false;
    };
    const rows = (from: number, to: number) => {
      let n = 0;
      for (let y = Math.max(0, from); y < Math.min(page.height, to); y++) if (inked(y)) n++;
      return n;
    };
    const top = Math.min(found.location.topLeftCorner.y, found.location.topRightCorner.y);
    const bottom = Math.max(found.location.bottomLeftCorner.y, found.location.bottomRightCorner.y);
    expect(page.width).toBeGreaterThan(found.location.topRightCorner.x - found.location.topLeftCorner.x + 200);
    expect(rows(0, top - 40), 'a title above the code').toBeGreaterThan(15);
    expect(rows(bottom + 40, page.height), 'three paragraphs under the code').toBeGreaterThan(36);
    if (HAVE_ZBAR || process.env.CI) {
      const zbar = execFileSync('zbarimg', ['--quiet', '--raw', kit], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      expect(zbar).toBe(fromJs);
    }
    // The secret is shown once: not in --json, not in activity.
    expect(r.stdout).not.toContain(fromJs);
    const activity = await home.run(['activity', '--json']);
    expect(activity.stdout).not.toContain(fromJs!.slice(6));
    expect(activity.stdout).toContain('recovery_qr.created');
    const status = json<{ exists: boolean; createdAt: string }>(await home.run(['recovery', 'qr', 'status', '--json']));
    expect(status).toEqual({ exists: true, createdAt: created.createdAt });
  });

  it('refuses to overwrite a file, and a name it cannot write, before changing anything', async () => {
    const before = json(await home.run(['recovery', 'qr', 'status', '--json']));
    const taken = await home.run(['recovery', 'qr', 'create', '--output', join(home.dir, 'kit.png')]);
    expect(taken.exitCode).toBe(5);
    expect(taken.stderr).toMatch(/kit\.png already exists/);
    const bad = await home.run(['recovery', 'qr', 'create', '--output', join(home.dir, 'kit.pdf')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('invalid --output');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(json(await home.run(['recovery', 'qr', 'status', '--json']))).toEqual(before);
  });

  it('writes SVG and HTML sheets with the account, the date and the instructions; the newest code voids the old', async () => {
    const svg = join(home.dir, 'kit.svg');
    const html = join(home.dir, 'kit.html');
    const a = await home.run(['recovery', 'qr', 'create', '--output', svg, '--json']);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(json(a)).toMatchObject({ replaced: true });
    expect(a.stderr).toContain('The previous recovery QR code no longer works.');
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<\?xml/);
    expect(text).toContain('acctsec account alice');
    expect(text.replace(/\u00a0/g, ' ')).toContain('acctsec recover --username alice --qr-image photo.png');
    expect(statSync(svg).mode & 0o777).toBe(0o600);
    const b = await home.run(['recovery', 'qr', 'create', '--output', html]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stdout).toContain('Recovery sheet saved to');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('Recovery QR code for the acctsec account alice');
    expect(page).toMatch(/Made \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // The PNG of the first code no longer works.
    const old = await home.run(
      ['recover', '--username', 'alice', '--qr-image', join(home.dir, 'kit.png'), '--password-stdin', '--json'],
      { input: `${NEW_PASSWORD}\n` },
    );
    expect(old.exitCode).toBe(3);
    expect(JSON.parse(old.stderr)).toEqual({
      error: { code: 'wrong_code', message: 'wrong or no longer valid recovery QR code' },
    });
  });

  it('recover --qr-image: parallel processes with the same photo, one sets the password and ends every session', async () => {
    const kit = join(home.dir, 'kit2.png');
    expect((await home.run(['recovery', 'qr', 'create', '--output', kit, '--yes'])).exitCode).toBe(0);
    const runs = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        home.run(['recover', '--username', 'alice', '--qr-image', kit, '--json'], {
          env: { ACCTSEC_NEW_PASSWORD: `${NEW_PASSWORD} ${i}` },
        }),
      ),
    );
    const winners = runs.filter((r) => r.exitCode === 0);
    expect(winners, runs.map((r) => r.stderr).join('\n')).toHaveLength(1);
    for (const r of runs.filter((x) => x.exitCode !== 0)) expect(r.exitCode).toBe(3);
    expect(json(winners[0]!)).toEqual({ username: 'alice', revokedSessions: 1 });
    lastWinner = runs.indexOf(winners[0]!) + 1;
    const password = `${NEW_PASSWORD} ${lastWinner}`;
    // Every session ended; the new password signs in.
    expect((await home.run(['status'])).exitCode).toBe(3);
    const login = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: password },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(json(await home.run(['recovery', 'qr', 'status', '--json']))).toEqual({ exists: false, createdAt: null });
    const events = (await home.run(['activity', '--json'])).stdout;
    expect(events).toContain('recovery_qr.used');
    expect(events).toContain('password.recovered');
  });

  it('recover --qr-image reads a JPEG photo: the sheet shot larger, on a grey desk', async () => {
    const login = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: `${NEW_PASSWORD} ${lastWinner}` },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    const kit = join(home.dir, 'kit3.png');
    expect((await home.run(['recovery', 'qr', 'create', '--output', kit, '--yes'])).exitCode).toBe(0);
    const png = PNG.sync.read(readFileSync(kit));
    // One and a half times larger (the sheet is a 1000-pixel page), in the middle of a grey 1600x1200
    // frame, as JPEG at quality 80.
    const [w, h, scale] = [1600, 1200, 1.5];
    const [sw, sh] = [Math.floor(png.width * scale), Math.floor(png.height * scale)];
    expect(sw <= w && sh <= h, `the sheet (${png.width}x${png.height}) fits the frame`).toBe(true);
    const data = Buffer.alloc(w * h * 4, 0x90);
    const [ox, oy] = [(w - sw) >> 1, (h - sh) >> 1];
    for (let y = 0; y < sh; y++)
      for (let x = 0; x < sw; x++) {
        const from = (Math.floor(y / scale) * png.width + Math.floor(x / scale)) * 4;
        png.data.copy(data, ((oy + y) * w + ox + x) * 4, from, from + 4);
      }
    const photo = join(home.dir, 'photo.jpg');
    writeFileSync(photo, jpeg.encode({ data, width: w, height: h }, 80).data);
    const r = await home.run(['recover', '--username', 'alice', '--qr-image', photo, '--json'], {
      env: { ACCTSEC_NEW_PASSWORD: NEW_PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)).toEqual({ username: 'alice', revokedSessions: 1 });
  });

  it('recover --qr-text - reads the text from stdin and refuses it as an argument', async () => {
    const login = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: NEW_PASSWORD },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    const r = await home.run(['recovery', 'qr', 'create', '--json', '--yes']);
    expect(r.exitCode, r.stderr).toBe(0);
    const { text } = json<{ text: string }>(r);
    const literal = await home.run(['recover', '--username', 'alice', '--qr-text', text], {
      env: { ACCTSEC_NEW_PASSWORD: NEW_PASSWORD },
    });
    expect(literal.exitCode).toBe(2);
    expect(literal.stderr).toContain('invalid --qr-text');
    expect(literal.stderr).not.toContain(text.slice(6, 20));
    const mixed = await home.run(['recover', '--username', 'alice', '--method', 'key', '--qr-image', 'kit.png']);
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toContain('go with --method qr, not --method key');
    const noImage = await home.run(['recover', '--username', 'alice', '--qr-image', join(home.dir, 'kit.svg')], {
      env: { ACCTSEC_NEW_PASSWORD: NEW_PASSWORD },
    });
    expect(noImage.exitCode).toBe(2);
    expect(noImage.stderr).toContain('not a PNG or JPEG image');
    const notOurs = await home.run(['recover', '--username', 'alice', '--qr-text', '-', '--password-stdin'], {
      input: `https://example.com/hello\n${NEW_PASSWORD}\n`,
    });
    expect(notOurs.exitCode).toBe(2);
    expect(notOurs.stderr).toContain('is not an acctsec recovery QR code');
    const ok = await home.run(['recover', '--username', 'alice', '--qr-text', '-', '--password-stdin', '--json'], {
      input: `${text}\n${NEW_PASSWORD}\n`,
    });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(Object.keys(json(ok)).sort()).toEqual(['revokedSessions', 'username']);
  });

  it.skipIf(REMOTE)(
    'at a terminal, locally: the text of the code at a masked prompt, then the new password twice',
    async () => {
      const signedIn = await home.run(['login', '--username', 'alice', '--no-input'], {
        env: { ACCTSEC_PASSWORD: NEW_PASSWORD },
      });
      expect(signedIn.exitCode, signedIn.stderr).toBe(0);
      const created = await home.run(['recovery', 'qr', 'create', '--json', '--yes']);
      expect(created.exitCode, created.stderr).toBe(0);
      const { text } = json<{ text: string }>(created);
      const term = await Terminal.start(home, ['recover', '--username', 'alice', '--method', 'qr']);
      try {
        await term.waitFor('Text of the recovery QR code');
        await term.type(text);
        await term.waitFor('New password:');
        await term.type(NEW_PASSWORD);
        await term.waitFor('Repeat new password:');
        await term.type(NEW_PASSWORD);
        const screen = await term.waitFor('[exit 0]');
        expect(screen).toContain('New password set for alice');
        // The masked prompt never echoed the secret.
        expect(screen).not.toContain(text.slice(6));
      } finally {
        await term.stop();
      }
    },
    30_000,
  );

  it('revoke voids the code; with nothing to revoke it exits 5; without input a missing code is named', async () => {
    const login = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: NEW_PASSWORD },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    const r = await home.run(['recovery', 'qr', 'create', '--json']);
    const { text } = json<{ text: string }>(r);
    const revoke = await home.run(['recovery', 'qr', 'revoke', '--json']);
    expect(revoke.exitCode, revoke.stderr).toBe(0);
    expect(json(revoke)).toEqual({ revoked: true, createdAt: json<{ createdAt: string }>(r).createdAt });
    expect((await home.run(['recovery', 'qr', 'revoke'])).exitCode).toBe(5);
    const after = await home.run(['recover', '--username', 'alice', '--qr-text', '-', '--password-stdin'], {
      input: `${text}\n${PASSWORD} again\n`,
    });
    expect(after.exitCode).toBe(3);
    if (!REMOTE) {
      const missing = await home.run(['recover', '--username', 'alice', '--method', 'qr', '--no-input']);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain('--qr-image');
    }
  });
});

describe.skipIf(REMOTE)('recovery QR code: the phone approves on the page of `acctsec serve --public-url`', () => {
  const home = new Home(false);
  let server: ResultPromise | undefined;
  let serverOutput = '';
  let base = '';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    const db = join(home.dir, 'server.db');
    server = execa(
      'node',
      [BIN, 'serve', '--db', db, '--create', '--listen', `127.0.0.1:${port}`, '--public-url', base],
      { env: home.env, extendEnv: false, reject: false },
    );
    await new Promise<void>((resolve, reject) => {
      server!.stdout?.on('data', (c: Buffer) => {
        serverOutput += c.toString();
        if (serverOutput.includes('listening on')) resolve();
      });
      server!.stderr?.on('data', (c: Buffer) => (serverOutput += c.toString()));
      void server!.then(() => reject(new Error(`serve ended: ${serverOutput}`)));
    });
    home.env.ACCTSEC_REMOTE = `http://127.0.0.1:${port}`;
    home.env.ACCTSEC_BOOTSTRAP_SECRET = readFileSync(`${db}.bootstrap-secret`, 'utf8').trim();
    await home.init();
  }, 60_000);
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server;
    await home.remove();
  });

  const post = (path: string, body: unknown) =>
    fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('the code opens the server page; the page shows the words of the terminal; approval lets the CLI set the password', async () => {
    const kit = join(home.dir, 'phone.png');
    const created = await home.run(['recovery', 'qr', 'create', '--output', kit, '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect(json(created)).toMatchObject({ phone: true });
    const url = jsQrText(kit)!;
    expect(url).toMatch(new RegExp(`^${base}/recover/qr#acsqr_[A-Za-z0-9_-]{43}$`));
    if (HAVE_ZBAR || process.env.CI)
      expect(
        execFileSync('zbarimg', ['--quiet', '--raw', kit], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim(),
      ).toBe(url);
    const [pageUrl, secret] = url.split('#') as [string, string];

    const run = await home.start(
      ['recover', '--username', 'alice', '--method', 'qr', '--timeout', '60', '--json'],
      /these words: ([a-z]+-[a-z]+-[a-z]+)/,
      { env: { ACCTSEC_NEW_PASSWORD: NEW_PASSWORD } },
    );
    const phrase = (await run.match)[1]!;

    // The phone opens the page (the fragment never goes to the server).
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).toContain('/v1/recover/qr/approve');
    // Approval without the secret, or with a made-up request, does nothing; a GET is not a way in.
    expect((await fetch(`${base}/v1/recover/qr/approve`)).status).toBe(405);
    const noSecret = await post('/v1/recover/qr/approve', { requestId: 'x' });
    expect(noSecret.status).toBe(400);
    const pending = (await (await post('/v1/recover/qr/pending', { secret })).json()) as {
      username: string;
      requests: { id: string; phrase: string; ip: string; createdAt: string }[];
    };
    expect(pending.username).toBe('alice');
    expect(pending.requests).toHaveLength(1);
    expect(pending.requests[0]).toMatchObject({ phrase, ip: '127.0.0.1' });
    const madeUp = await post('/v1/recover/qr/approve', { secret, requestId: 'AAAAAAAAAAAAAAAA' });
    expect(madeUp.status).toBe(404);
    const approve = await post('/v1/recover/qr/approve', { secret, requestId: pending.requests[0]!.id });
    expect(approve.status).toBe(200);

    const done = await run.done;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(json(done)).toEqual({ username: 'alice', revokedSessions: 1 });
    expect(done.stderr).toContain('Approved on the phone.');
    // The new password signs in; the code is used up.
    const login = await home.run(['login', '--username', 'alice', '--no-input'], {
      env: { ACCTSEC_PASSWORD: NEW_PASSWORD },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    expect(json(await home.run(['recovery', 'qr', 'status', '--json']))).toEqual({ exists: false, createdAt: null });
    expect((await post('/v1/recover/qr/pending', { secret })).status).toBe(401);
    // The secret reached no log of the server.
    expect(serverOutput).not.toContain(secret);
  }, 90_000);

  // The phone played by Debian's Chromium: the page's own script reads the fragment, lists the request,
  // and approves it on a tap. Skipped without Chromium on a developer machine; CI installs it.
  it.skipIf(!HAVE_CHROMIUM && !process.env.CI)(
    'in a real browser: the page drops the secret from the address bar, shows the words, and approves on a tap',
    async () => {
      const login = await home.run(['login', '--username', 'alice', '--no-input'], {
        env: { ACCTSEC_PASSWORD: NEW_PASSWORD },
      });
      expect(login.exitCode, login.stderr).toBe(0);
      const created = await home.run(['recovery', 'qr', 'create', '--json']);
      expect(created.exitCode, created.stderr).toBe(0);
      const { text } = json<{ text: string }>(created);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
      });
      try {
        const page = await browser.newPage();
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        // Nothing waiting yet: the page says so and offers to look again.
        await page.goto(text);
        await page.waitForSelector('body[data-pending="0"]', { timeout: 10_000 });
        expect(page.url()).toBe(`${base}/recover/qr`);
        const run = await home.start(
          ['recover', '--username', 'alice', '--method', 'qr', '--timeout', '60', '--json'],
          /these words: ([a-z]+-[a-z]+-[a-z]+)/,
          { env: { ACCTSEC_NEW_PASSWORD: PASSWORD } },
        );
        const phrase = (await run.match)[1]!;
        await page.click('#again');
        await page.waitForSelector('button.approve', { timeout: 10_000 });
        expect(await page.getAttribute('button.approve', 'data-phrase')).toBe(phrase);
        expect(await page.textContent('#requests')).toContain('127.0.0.1');
        await page.click('button.approve');
        await page.waitForSelector('body[data-done="ok"]', { timeout: 10_000 });
        const done = await run.done;
        expect(done.exitCode, done.stderr).toBe(0);
        // The secret went to the server only in POST bodies, never in a URL.
        const secret = text.split('#')[1]!;
        expect(requests.some((u) => u.includes(secret))).toBe(false);
      } finally {
        await browser.close();
      }
      const back = await home.run(['login', '--username', 'alice', '--no-input'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(back.exitCode, back.stderr).toBe(0);
    },
    90_000,
  );

  it('opening a request answers an existing user and an unknown name alike', async () => {
    const seen = async (username: string) => {
      const r = await post('/v1/recover/qr', { username });
      const body = (await r.json()) as Record<string, string>;
      return {
        status: r.status,
        keys: Object.keys(body).sort(),
        page: body.page,
        requestId: /^[A-Za-z0-9_-]{43}$/.test(body.requestId!),
        phrase: /^[a-z]+-[a-z]+-[a-z]+$/.test(body.phrase!),
        expiresIn: Math.round((Date.parse(body.expiresAt!) - Date.now()) / 60_000),
      };
    };
    const alice = await seen('alice');
    expect(alice).toMatchObject({
      status: 200,
      page: `${base}/recover/qr`,
      requestId: true,
      phrase: true,
      expiresIn: 10,
    });
    expect(await seen('nobody')).toEqual(alice);
  });

  it('at a terminal, the wait counts down on stderr, then ends at the timeout', async () => {
    const term = await Terminal.start(home, ['recover', '--username', 'alice', '--method', 'qr', '--timeout', '6']);
    try {
      await term.waitFor(/these words: [a-z]+-[a-z]+-[a-z]+/);
      const first = /Waiting for the approval on your phone: (\d:\d\d) left/.exec(
        await term.waitFor(/\d:\d\d left/),
      )![1];
      await term.waitFor(new RegExp(`phone: (?!${first})\\d:\\d\\d left`));
      const screen = await term.waitFor('[exit 3]');
      expect(screen).toContain('no approval from the phone within 6 s; nothing changed');
    } finally {
      await term.stop();
    }
  }, 30_000);

  it('an unknown username waits like a known one and times out, changing nothing', async () => {
    const r = await home.run(['recover', '--username', 'nobody', '--method', 'qr', '--timeout', '5'], {
      env: { ACCTSEC_NEW_PASSWORD: NEW_PASSWORD },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/these words: [a-z]+-[a-z]+-[a-z]+/);
    expect(r.stderr).toContain('no approval from the phone within 5 s; nothing changed');
  }, 30_000);
});
