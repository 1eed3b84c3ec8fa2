import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, Home } from './helpers.js';

const HOOK = fileURLToPath(new URL('../fixtures/record-imports.mjs', import.meta.url));
const HEAVY = [
  'argon2',
  'better-sqlite3',
  '@inquirer/prompts',
  'qrcode',
  'jimp',
  'undici',
  'conf',
  '@zxcvbn-ts',
  'nodemailer',
  'otpauth',
  'oidc-provider',
];
/**
 * What a command that opens the store must still not load (issue #18): the WebAuthn library (most of
 * what `status` used to load), argon2 (no password is checked), mail, password strength, HTTP, the
 * config writer and its schema library, the QR code, the prompt library, and better-sqlite3's addon finder.
 */
const HEAVY_FOR_DATA = [
  '@simplewebauthn',
  'argon2',
  'nodemailer',
  '@zxcvbn-ts',
  'undici',
  'conf',
  'ajv',
  'qrcode',
  'jimp',
  '@inquirer/prompts',
  // The OAuth provider (issue #21): only `serve`, on the first request under /oauth2.
  'oidc-provider',
  // better-sqlite3's addon finder: the store names the addon's file (about 19 ms of CPU a run).
  'bindings',
];

/**
 * Our own code that the everyday commands do not parse (issue #18): each top-level command's module is
 * loaded alone, and the service modules of occasional operations (support, bulk import, organizations,
 * recovery QR codes) come in one chunk on first use. Found by the source comments esbuild keeps.
 */
const OCCASIONAL_CODE = [
  'src/service/admin.ts',
  'src/service/bulk-import.ts',
  'src/service/orgs.ts',
  'src/service/recovery-qr.ts',
  'src/cli/commands/admin.ts',
  'src/cli/commands/admin-bulk.ts',
  'src/cli/recovery-sheet.ts',
  // The OAuth provider's adapter and registry (issue #21): introspection of an app's token needs neither.
  'src/service/oauth-storage.ts',
  'src/service/oauth-apps.ts',
  'src/service/oauth-grants.ts',
];

/** The source files (esbuild's `// src/...` comments) inside the bundle files a run loaded. */
function bundledSources(urls: string[]): string[] {
  return urls
    .filter((u) => u.includes('/dist/'))
    .flatMap((u) => readFileSync(fileURLToPath(u), 'utf8').match(/^\/\/ src\/\S+/gm) ?? [])
    .map((line) => line.slice(3));
}

describe('start-up stays lazy', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(() => home.remove());

  async function imported(args: string[]): Promise<string[]> {
    const log = join(home.dir, `imports-${args.join('_')}.txt`);
    const r = await execa('node', ['--import', HOOK, BIN, ...args], {
      reject: false,
      env: { ...home.env, RECORD_IMPORTS_TO: log },
      extendEnv: false,
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  }

  it('acctsec --version answers from the launcher: no bundle, no dependency', async () => {
    const urls = await imported(['--version']);
    expect(urls.some((u) => u.includes('/bin/acctsec.js'))).toBe(true);
    expect(urls.filter((u) => u.includes('/dist/') || u.includes('/node_modules/'))).toEqual([]);
  });

  it.each([['--help'], ['-h'], ['help']])(
    'acctsec %s answers from the launcher and the recorded screen: not the CLI bundle, no dependency',
    async (...args) => {
      const urls = await imported(args);
      expect(urls.some((u) => u.includes('/dist/root-help.js'))).toBe(true);
      expect(urls.filter((u) => u.includes('/dist/') && !u.includes('/dist/root-help.js'))).toEqual([]);
      expect(urls.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    },
  );

  it.each([
    ['login', '--help'],
    ['password', 'change', '--help'],
    ['help', 'login'],
  ])('acctsec %s loads no heavy dependency', async (...args) => {
    const urls = await imported(args);
    expect(urls.some((u) => u.includes('/dist/main.js'))).toBe(true);
    for (const name of HEAVY)
      expect(
        urls.filter((u) => u.includes(`/node_modules/${name}`)),
        name,
      ).toEqual([]);
  });

  it.each(
    [
      ['status'],
      ['ip', 'list'],
      ['token', 'list'],
      ['mfa', 'status'],
      ['sessions', 'list'],
      ['activity'],
      ['__complete', 'tokens'],
    ].map((a) => [a.join(' '), a] as const),
  )('acctsec %s (the store opened) loads none of the heavy libraries it does not use', async (_name, args) => {
    await home.init();
    const urls = await imported(args);
    expect(
      urls.some((u) => u.includes('/node_modules/better-sqlite3/')),
      'the store was opened',
    ).toBe(true);
    for (const name of HEAVY_FOR_DATA)
      expect(
        urls.filter((u) => u.includes(`/node_modules/${name}`)),
        name,
      ).toEqual([]);
    const sources = bundledSources(urls);
    expect(sources, 'the recorder sees the bundle').toContain('src/backend/local.ts');
    expect(sources.filter((s) => OCCASIONAL_CODE.includes(s))).toEqual([]);
  });

  it('an occasional operation does load its code (the check above can fail)', async () => {
    await home.init();
    const sources = bundledSources(await imported(['admin', 'users', 'list']));
    expect(sources).toEqual(expect.arrayContaining(['src/service/admin.ts', 'src/cli/commands/admin.ts']));
  });

  it('the recorder does see them when a command uses them: a config write loads conf', async () => {
    const urls = await imported(['config', 'set', 'mail.from', 'ops <ops@example.com>']);
    expect(urls.some((u) => u.includes('/node_modules/conf/'))).toBe(true);
  });
});
