import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
 * Our own code that the everyday commands do not run (issue #18): the service modules of occasional
 * operations (support, bulk import, organizations, recovery QR codes, the OAuth provider's side) and the
 * commands' modules other than the one named. The bundle is one file compiled from the code cache
 * (scripts/build.js), so what matters is what runs: a lazily imported module runs nothing, not even its
 * top level, until first used. Found with V8's own coverage (NODE_V8_COVERAGE) and the source comments
 * esbuild keeps.
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

/**
 * The files of package `name` among the modules a run loaded: from node_modules, or the build's CommonJS
 * copy of it in dist/vendor/ (scripts/build.js, VENDORED).
 */
function loadedOf(urls: string[], name: string): string[] {
  return urls.filter((u) => u.includes(`/node_modules/${name}`) || u.includes(`/dist/vendor/${name}`));
}

const BUNDLE = fileURLToPath(new URL('../../dist/main.cjs', import.meta.url));

interface V8Coverage {
  result: { url: string; functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[];
}

/**
 * The source files (esbuild's `// src/...` and `// node_modules/...` comments) of the bundle in which at
 * least one function ran, from the coverage V8 wrote to `dir`.
 */
function executedSources(dir: string): string[] {
  const source = readFileSync(BUNDLE, 'utf8');
  const script = readdirSync(dir)
    .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as V8Coverage).result)
    .find((r) => r.url === pathToFileURL(BUNDLE).href);
  if (!script) throw new Error('no coverage of dist/main.cjs: did the launcher run it?');
  // The launcher wraps the file as Node's CommonJS loader does: the offsets count from the wrapper.
  const whole = script.functions[0]!.ranges[0]!.endOffset;
  const shift = whole - source.length - '\n})'.length;
  if (shift < 50 || shift > 300) throw new Error(`unexpected wrapper length ${shift}`);
  const marks = [...source.matchAll(/^\/\/ (src|node_modules)\/\S+$/gm)].map((m) => ({
    name: m[0].slice(3),
    at: m.index + shift,
  }));
  const ran = new Set<string>();
  for (const fn of script.functions) {
    const { startOffset, count } = fn.ranges[0]!;
    if (count === 0) continue;
    let owner: string | undefined;
    for (const m of marks) {
      if (m.at > startOffset) break;
      owner = m.name;
    }
    if (owner) ran.add(owner);
  }
  return [...ran];
}
describe('start-up stays lazy', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(() => home.remove());

  async function imported(args: string[]): Promise<string[]> {
    return (await traced(args, false)).urls;
  }

  /** The modules a run loaded, and (with `coverage`) the bundle's source files it ran code of. */
  async function traced(args: string[], coverage = true): Promise<{ urls: string[]; ran: string[] }> {
    const log = join(home.dir, `imports-${args.join('_')}.txt`);
    const dir = coverage ? mkdtempSync(join(home.dir, 'coverage-')) : undefined;
    const r = await execa('node', ['--import', HOOK, BIN, ...args], {
      reject: false,
      env: { ...home.env, RECORD_IMPORTS_TO: log, ...(dir ? { NODE_V8_COVERAGE: dir } : {}) },
      extendEnv: false,
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return { urls, ran: dir && urls.some((u) => u.endsWith('/dist/main.cjs')) ? executedSources(dir) : [] };
  }

  it('acctsec --version answers from the launcher: no bundle, no dependency', async () => {
    const urls = await imported(['--version']);
    expect(urls.some((u) => u.includes('/bin/acctsec.cjs'))).toBe(true);
    expect(urls.filter((u) => u.includes('/dist/') || u.includes('/node_modules/'))).toEqual([]);
  });

  it.each([['--help'], ['-h'], ['help']])(
    'acctsec %s answers from the launcher and the recorded screen: not the CLI bundle, no dependency',
    async (...args) => {
      const urls = await imported(args);
      expect(urls.some((u) => u.includes('/dist/root-help.cjs'))).toBe(true);
      expect(urls.filter((u) => u.includes('/dist/') && !u.includes('/dist/root-help.cjs'))).toEqual([]);
      expect(urls.filter((u) => u.includes('/node_modules/'))).toEqual([]);
    },
  );

  it.each([
    ['login', '--help'],
    ['password', 'change', '--help'],
    ['help', 'login'],
  ])('acctsec %s loads no heavy dependency', async (...args) => {
    const urls = await imported(args);
    expect(urls.some((u) => u.includes('/dist/main.cjs'))).toBe(true);
    for (const name of HEAVY) expect(loadedOf(urls, name), name).toEqual([]);
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
    const { urls, ran } = await traced(args);
    expect(
      urls.some((u) => u.includes('/node_modules/better-sqlite3/')),
      'the store was opened',
    ).toBe(true);
    for (const name of HEAVY_FOR_DATA) expect(loadedOf(urls, name), name).toEqual([]);
    expect(ran, 'the coverage sees the bundle').toContain('src/backend/local.ts');
    expect(ran.filter((s) => OCCASIONAL_CODE.includes(s))).toEqual([]);
  });

  it('an occasional operation does run its code (the check above can fail)', async () => {
    await home.init();
    const { ran } = await traced(['admin', 'users', 'list']);
    expect(ran).toEqual(expect.arrayContaining(['src/service/admin.ts', 'src/cli/commands/admin.ts']));
  });

  it('the recorder does see them when a command uses them: a config write loads conf, and not ajv', async () => {
    const urls = await imported(['config', 'set', 'mail.from', 'ops <ops@example.com>']);
    expect(loadedOf(urls, 'conf')).not.toEqual([]);
    // conf loads ajv for a schema, which acctsec never gives it: the build leaves it out (issue #16).
    expect(loadedOf(urls, 'ajv')).toEqual([]);
  });
});

describe('the code cache (issue #18)', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));

  it('V8 takes the cache the build wrote; one it refuses costs nothing but the read, and ACCTSEC_DEBUG=1 says so', async () => {
    const home = new Home();
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-code-cache-'));
    try {
      await home.init();
      const run = (bin: string) =>
        execa('node', [bin, 'status'], { reject: false, env: { ...home.env, ACCTSEC_DEBUG: '1' }, extendEnv: false });
      // status says how long ago the password changed: a minute may turn between the runs (the home is a
      // copy of one `init` made up to three minutes earlier, and a loaded machine copies the package slowly).
      const same = (stdout: unknown) => String(stdout).replace(/\((just now|\d+ \w+ ago)\)/g, '(…)');
      const built = await run(BIN);
      expect(built.exitCode).toBe(0);
      expect(String(built.stderr)).not.toMatch(/code cache/);
      // A copy of the package whose cache is not V8's (as after a Node upgrade, or a damaged file).
      for (const part of ['bin', 'dist', 'package.json'])
        cpSync(join(ROOT, part), join(dir, part), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      writeFileSync(join(dir, 'dist/main.cjs.cache'), Buffer.alloc(4096, 7));
      const refused = await run(join(dir, 'bin/acctsec.cjs'));
      expect(refused.exitCode, String(refused.stderr)).toBe(0);
      expect(String(refused.stderr)).toMatch(/V8 refused the code cache .*main\.cjs\.cache/);
      expect(same(refused.stdout)).toBe(same(built.stdout));
      // No cache at all: compiled from the source, silently.
      rmSync(join(dir, 'dist/main.cjs.cache'));
      const none = await run(join(dir, 'bin/acctsec.cjs'));
      expect(none.exitCode).toBe(0);
      expect(String(none.stderr)).not.toMatch(/code cache/);
      expect(same(none.stdout)).toBe(same(built.stdout));
    } finally {
      await home.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
