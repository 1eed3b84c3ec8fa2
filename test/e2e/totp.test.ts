import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as jsQRModule from 'jsqr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awayFromStepEdge, base32Decode, codeAt, wrongCode } from '../rfc6238.js';
import { Home, json, PASSWORD, type Result } from './helpers.js';

interface Enrolled {
  secret: string;
  uri: string;
  recoveryCodes: string[];
}

/**
 * Enrolls through the CLI, two steps, as a script would; the first code is for the step before now.
 * Only the confirmation's code must land in the step it was computed for: a margin for two commands.
 * A test that needs more of one step after this waits for it itself.
 */
async function enroll(home: Home): Promise<Enrolled> {
  await awayFromStepEdge(2500);
  const begin = await home.run(['mfa', 'totp', 'enable', '--no-input', '--json'], {
    env: { ACCTSEC_PASSWORD: PASSWORD },
  });
  expect(begin.exitCode, begin.stderr).toBe(0);
  const { secret, uri, expiresAt } = json<{ secret: string; uri: string; expiresAt: string }>(begin);
  expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
  const confirm = await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(secret, -1), '--json']);
  expect(confirm.exitCode, confirm.stderr).toBe(0);
  const out = json<{ enabled: boolean; recoveryCodes: string[] }>(confirm);
  expect(out.enabled).toBe(true);
  expect(out.recoveryCodes).toHaveLength(10);
  return { secret, uri, recoveryCodes: out.recoveryCodes };
}

describe('authenticator app through the CLI', () => {
  let home: Home;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(() => home.remove());

  const login = (args: string[]): Promise<Result> =>
    home.run(['login', '--username', 'alice', ...args], { env: { ACCTSEC_PASSWORD: PASSWORD } });

  it('enrolls, signs in with codes computed independently, refuses replays, and keeps the ±1 window', async () => {
    const { secret } = await enroll(home);
    await awayFromStepEdge(8000); // the steps below must stay the same "now" throughout
    expect(json(await home.run(['mfa', 'status', '--json']))).toMatchObject({
      methods: [
        { type: 'totp', enabled: true },
        { type: 'email', enabled: false },
        { type: 'key', enabled: false, keys: 0 },
      ],
      recoveryCodesLeft: 10,
    });
    expect(
      typeof json<{ methods: { enabledAt: string }[] }>(await home.run(['mfa', 'status', '--json'])).methods[0]!
        .enabledAt,
    ).toBe('string');

    const noCode = await login([]);
    expect(noCode.exitCode).toBe(2);
    expect(noCode.stderr).toContain('--code');

    // the confirmation consumed step -1; step 0 and +1 are still in the window
    const now = await login(['--method', 'totp', '--code', codeAt(secret, 0)]);
    expect(now.exitCode, now.stderr).toBe(0);
    const replay = await login(['--code', codeAt(secret, 0)]);
    expect(replay.exitCode).toBe(3);
    expect(replay.stderr).toContain('already used');
    const ahead = await login(['--code', codeAt(secret, 1)]);
    expect(ahead.exitCode, ahead.stderr).toBe(0);
    const far = await login(['--code', codeAt(secret, 3)]);
    expect(far.exitCode).toBe(3);
    expect(far.stderr).toMatch(/clock looks about 90 seconds ahead/);
  });

  it('throttles after five wrong codes, across processes (exit 6 with the wait)', async () => {
    const { secret } = await enroll(home);
    const wrong = wrongCode(secret);
    for (let i = 0; i < 5; i++) expect((await login(['--code', wrong])).exitCode).toBe(3);
    const sixth = await login(['--code', codeAt(secret, 0)]);
    expect(sixth.exitCode).toBe(6);
    expect(sixth.stderr).toMatch(/try again in \d+ s/);
  });

  it('recovery codes: single use at sign-in with the count left; regenerate voids the old set; view lists the valid ones', async () => {
    const { secret, recoveryCodes } = await enroll(home);
    const first = await login(['--code', recoveryCodes[0]!]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('9 left');
    expect((await login(['--method', 'recovery', '--code', recoveryCodes[0]!])).exitCode).toBe(3);

    const view = await home.run(['recovery-codes', 'view', '--code', codeAt(secret, 0), '--json']);
    expect(view.exitCode, view.stderr).toBe(0);
    expect(json<{ codes: string[] }>(view).codes).toEqual(recoveryCodes.slice(1));

    const file = join(home.dir, 'codes.txt');
    const regen = await home.run([
      'recovery-codes',
      'regenerate',
      '--code',
      codeAt(secret, 1),
      '--output',
      file,
      '--json',
    ]);
    expect(regen.exitCode, regen.stderr).toBe(0);
    const fresh = json<{ codes: string[] }>(regen).codes;
    expect(fresh).toHaveLength(10);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('alice');
    expect(text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    for (const c of fresh) expect(text).toContain(c);

    expect((await login(['--code', recoveryCodes[1]!])).exitCode).toBe(3);
    expect((await login(['--code', fresh[0]!])).exitCode).toBe(0);
  });

  it('saves the codes at confirmation with --recovery-codes-file, mode 0600', async () => {
    await awayFromStepEdge();
    const begin = json<{ secret: string }>(
      await home.run(['mfa', 'totp', 'enable', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
    );
    const file = join(home.dir, 'rc.txt');
    const r = await home.run([
      'mfa',
      'totp',
      'confirm',
      '--code',
      codeAt(begin.secret, 0),
      '--recovery-codes-file',
      file,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').match(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/gm)).toHaveLength(10);
  });

  it('a second enable exits 5 and says how to change the seed', async () => {
    await enroll(home);
    const r = await home.run(['mfa', 'totp', 'enable', '--no-input'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('disable and enable it again');
  });

  it('disabling the last method needs --yes under --no-input, and a current code', async () => {
    const { secret } = await enroll(home);
    const noYes = await home.run(['mfa', 'totp', 'disable', '--code', codeAt(secret, 0)]);
    expect(noYes.exitCode).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    expect(noYes.stderr).toContain('password alone');
    expect((await home.run(['mfa', 'totp', 'disable', '--yes', '--code', wrongCode(secret)])).exitCode).toBe(3);
    const ok = await home.run(['mfa', 'totp', 'disable', '--yes', '--code', codeAt(secret, 0)]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((await login([])).exitCode).toBe(0);
    expect(json(await home.run(['mfa', 'status', '--json']))).toMatchObject({
      methods: [
        { type: 'totp', enabled: false },
        { type: 'email', enabled: false },
        { type: 'key', enabled: false, keys: 0 },
      ],
      recoveryCodesLeft: null,
    });
  });

  it('twenty processes with the same recovery code at once: exactly one signs in', async () => {
    const { recoveryCodes } = await enroll(home);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        home.run(['--profile', `p${i}`, 'login', '--username', 'alice', '--code', recoveryCodes[2]!], {
          env: { ACCTSEC_PASSWORD: PASSWORD },
        }),
      ),
    );
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
    for (const r of results) expect([0, 3, 6]).toContain(r.exitCode);
  });

  it('twenty processes with the same authenticator code at once: exactly one is accepted', async () => {
    const { secret } = await enroll(home);
    await awayFromStepEdge(10_000);
    const code = codeAt(secret, 0);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => home.run(['recovery-codes', 'view', '--code', code, '--json'])),
    );
    expect(results.filter((r) => r.exitCode === 0)).toHaveLength(1);
    for (const r of results) expect([0, 3, 6]).toContain(r.exitCode);
  });

  it('the database file holds neither the secret (base32, hex, raw bytes) nor any recovery code', async () => {
    const { secret, recoveryCodes } = await enroll(home);
    const files = [home.dbPath, `${home.dbPath}-wal`].filter(existsSync);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(bytes.length).toBeGreaterThan(4096);
    const raw = base32Decode(secret);
    for (const needle of [secret, secret.toLowerCase(), raw.toString('hex'), raw.toString('hex').toUpperCase(), raw])
      expect(bytes.includes(needle)).toBe(false);
    for (const c of recoveryCodes) {
      expect(bytes.includes(c)).toBe(false);
      expect(bytes.includes(c.replace(/-/g, ''))).toBe(false);
    }
  });

  it('prints a terminal QR code that decodes back to the same otpauth URI, the key beside it', async () => {
    const r = await home.run(['mfa', 'totp', 'enable', '--no-input', '--qr', 'utf8'], {
      env: { ACCTSEC_PASSWORD: PASSWORD, COLUMNS: '100' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const uri = /^URI: (otpauth:\S+)$/m.exec(r.stdout)![1]!;
    // Not a terminal: no colours, so the light modules are the ones drawn, the quiet zone included.
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('████'));
    expect(decodeTerminalQr(lines.map((l) => l.slice(0, l.lastIndexOf('█') + 1)))).toBe(uri);
    // and the key for manual entry is the same secret, in groups of four, four groups a line
    const key = lines.flatMap((l) => /█ {5}((?:[A-Z2-7]{4} ?)+)$/.exec(l)?.[1] ?? []).join(' ');
    expect(key).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
    expect(new URL(uri).searchParams.get('secret')).toBe(key.replace(/ /g, ''));
    expect(r.stderr).toContain('Without colour the QR code assumes a dark background; the key works too.');
  });

  it('never draws a QR code wider than the terminal: a narrow one gets the key and a note', async () => {
    const r = await home.run(['mfa', 'totp', 'enable', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD, COLUMNS: '30' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('█');
    expect(r.stderr).toMatch(/needs \d+ columns and the terminal has 30/);
    expect(r.stdout).toContain('Key for manual entry');
  });
});

// jsqr is CommonJS typed as an ES default export: under NodeNext the callable is its `default`.
type Decode = (
  data: Uint8ClampedArray,
  width: number,
  height: number,
  options?: jsQRModule.Options,
) => jsQRModule.QRCode | null;
const jsQR =
  (jsQRModule as unknown as { default: { default?: Decode } & Decode }).default.default ??
  (jsQRModule as unknown as { default: Decode }).default;

/** Half-block characters back to modules (light = drawn), decoded by jsQR as they are: not inverted, no quiet zone added. */
function decodeTerminalQr(lines: string[]): string | null {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const chars = [...line];
    rows.push(chars.map((c) => c === '█' || c === '▀'));
    rows.push(chars.map((c) => c === '█' || c === '▄'));
  }
  const scale = 6;
  const w = Math.max(...rows.map((r) => r.length));
  const h = rows.length;
  const data = new Uint8ClampedArray(w * scale * h * scale * 4);
  for (let y = 0; y < h * scale; y++) {
    for (let x = 0; x < w * scale; x++) {
      const light = rows[Math.floor(y / scale)]![Math.floor(x / scale)] ?? true;
      const i = (y * w * scale + x) * 4;
      data[i] = data[i + 1] = data[i + 2] = light ? 255 : 0;
      data[i + 3] = 255;
    }
  }
  return jsQR(data, w * scale, h * scale, { inversionAttempts: 'dontInvert' })?.data ?? null;
}
