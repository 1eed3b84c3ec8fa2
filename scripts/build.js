// The build (issue #18: every command starts fast):
// - the CLI is one CommonJS file, dist/main.cjs, which the launcher (bin/acctsec.cjs) compiles with a V8
//   code cache, dist/main.cjs.cache, written below by running `status` once: a run then parses nothing it
//   does not execute, and Node's ES module loader is never started for our own code (measured
//   interleaved, `status`: 1.98x `node -e 0` CPU as ES module chunks, 1.82x as one CommonJS file, 1.63x
//   with the cache). The modules a command loads only on some paths stay lazy inside the file (esbuild
//   wraps every dynamically imported module in an initializer that runs on first use);
// - the root help screen is a small CommonJS file of its own (dist/root-help.cjs);
// - `generate` (docs, completions, the recorded help) and the audit worker stay ES modules.
// Runtime dependencies stay external (native addons cannot be bundled: argon2, and better-sqlite3's
// addon file; see BUNDLED), and are loaded lazily by the commands that need them. Type checking is
// `npm run typecheck`.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// Bundled, not external: commander (every run parses with it), valibot (the route schemas; bundling
// keeps only the validators the table uses, a few KiB, instead of the whole library), and the small
// pure-JS modules every command that opens the store loads (chalk, ipaddr.js, env-paths, otpauth):
// resolving their dozen files through Node's ESM loader cost more than parsing them (issue #18:
// `status` 0.21 s -> 0.14 s of user CPU, median of 15).
//
// better-sqlite3's JavaScript (a dozen small CommonJS files) is bundled too: its native addon is loaded
// by path (store/db.ts, nativeBinding), and reading the files one by one cost `status` about 8% of its
// CPU time (issue #18, measured interleaved). `bindings`, its addon finder, stays outside: it is only
// used when the addon is not where the store looks.
const BUNDLED = new Set(['commander', 'valibot', 'chalk', 'ipaddr.js', 'env-paths', 'otpauth', 'better-sqlite3']);
// The packages of the config writes and of mail: as external ES modules each started Node's ES module
// loader, and conf's import of ajv (a JSON Schema compiler acctsec never uses: the config file is checked
// with valibot, conf gets no schema) cost a command that writes the config or sends a notice 50 to 110 ms
// of CPU (issue #16: `login` 382 -> 269 ms, `config set` 253 -> 137 ms, median of 15). Inside
// dist/main.cjs they made every other command slower (a larger file and code cache to load: `status`
// +11 %), so each is a CommonJS file of its own, dist/vendor/NAME.cjs, which the bundle `require`s when a
// command first needs it (see __acctsecVendor below). ajv is left out (noAjvForConf).
const VENDORED = ['conf', 'proper-lockfile', 'nodemailer'];
// CommonJS packages kept external (argon2 is a native addon; zxcvbn's dictionaries are megabytes only
// `init` and password changes read): the bundle `require`s them (__acctsecRequire) instead of `import()`,
// which started the ES module loader and ran cjs-module-lexer over them (`login`: 15 ms for argon2).
// Node's own modules loaded on some paths only (the browser for a security key, the audit walk's
// worker) are required the same way.
const REQUIRED = [
  'argon2',
  '@zxcvbn-ts/core',
  '@zxcvbn-ts/language-common',
  '@zxcvbn-ts/language-en',
  'node:child_process',
  'node:worker_threads',
];
const external = [
  ...Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  ...Object.keys(pkg.optionalDependencies ?? {}),
  'bindings',
];

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });

/**
 * An esbuild plugin that resolves `filter`, when imported from inside node_modules/`insidePackage`, to
 * scripts/`file` instead.
 */
const standIn = (name, filter, insidePackage, file) => ({
  name,
  setup(b) {
    const inside = new RegExp(`[\\\\/]node_modules[\\\\/]${insidePackage}[\\\\/]`);
    b.onResolve({ filter }, (args) =>
      inside.test(args.importer) ? { path: fileURLToPath(new URL(`./${file}`, import.meta.url)) } : undefined,
    );
  },
});
// commander requires node:child_process at load time: it gets a stand-in that loads it on first use.
const lazyChildProcess = standIn(
  'lazy-child-process',
  /^(node:)?child_process$/,
  'commander',
  'lazy-child-process.cjs',
);
// conf loads ajv and ajv-formats at the top of its module, but uses them only when given a schema, which
// profiles.ts never gives: inside conf, both resolve to a stand-in that throws if it is ever called.
const noAjvForConf = standIn('no-ajv-for-conf', /^ajv(\/dist\/2020\.js)?$|^ajv-formats$/, 'conf', 'no-ajv.cjs');

// The CommonJS files. `import.meta.url` is the file's own URL; a dynamic import of an external package
// (argon2, conf, nodemailer, the WebAuthn library...) goes through `__acctsecImport`, the launcher's
// `import()` (V8 compiles the bundle through vm.Script, whose own `import()` would need an experimental
// loader option), or Node's when the file is run directly.
const URL_BANNER = "const __acctsecUrl = require('node:url').pathToFileURL(__filename).href;";
const CJS_BANNER = [
  URL_BANNER,
  "const __acctsecImport = typeof __acctsecLauncherImport === 'function' ? __acctsecLauncherImport : (id) => import(id);",
  'const __acctsecVendor = (id) => Promise.resolve().then(() => require(`./vendor/${id}.cjs`));',
  // What import() of a CommonJS package gives: its exports as named exports, and as `default`.
  'const __acctsecRequire = (id) => Promise.resolve().then(() => { const m = require(id); return { ...m, default: m }; });',
].join('\n');
const cjs = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external,
  define: { ACCTSEC_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__acctsecUrl' },
  banner: { js: CJS_BANNER },
  logLevel: 'warning',
  plugins: [lazyChildProcess, noAjvForConf],
};
await build({ ...cjs, entryPoints: ['src/cli/main.ts'], outfile: 'dist/main.cjs' });
// What the launcher loads for `acctsec --help`: one small file (the screen itself is recorded below).
await build({ ...cjs, entryPoints: ['src/cli/root-help.ts'], outfile: 'dist/root-help.cjs' });
for (const name of VENDORED)
  await build({
    ...cjs,
    banner: { js: URL_BANNER },
    external: external.filter((id) => id !== name),
    stdin: { contents: `export * from '${name}'; export { default } from '${name}';`, resolveDir: '.' },
    outfile: `dist/vendor/${name}.cjs`,
  });
const importOf = (names) => new RegExp(`\\bimport\\(("(?:${names.join('|')})")\\)`, 'g');
for (const file of ['main.cjs', 'root-help.cjs']) {
  const url = new URL(`../dist/${file}`, import.meta.url);
  const code = readFileSync(url, 'utf8')
    .replace(importOf(VENDORED), '__acctsecVendor($1)')
    .replace(importOf(REQUIRED), '__acctsecRequire($1)')
    .replace(importOf(['[^"]+']), '__acctsecImport($1)');
  // The banner's fallback is the one `import(` left: any other would fail under the launcher.
  const left = code.match(/\bimport\(/g)?.length ?? 0;
  if (left !== 1) throw new Error(`dist/${file}: ${left - 1} dynamic import(s) not rewritten to __acctsecImport`);
  writeFileSync(url, code);
}

// The ES module entries: the generator and the audit worker (issue #19 §3: `new Worker(new
// URL('./audit-worker.js', import.meta.url))` in service/audit.ts finds it beside the bundle, in dist/).
await build({
  entryPoints: {
    generate: 'src/cli/generate.ts',
    'audit-worker': 'src/service/audit-worker.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  define: { ACCTSEC_VERSION: JSON.stringify(pkg.version) },
  // commander is CommonJS: give the bundle a `require` for its node: built-ins.
  banner: {
    js: "import { createRequire as __acctsecCreateRequire } from 'node:module'; const require = __acctsecCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  plugins: [lazyChildProcess, noAjvForConf],
});
// Node's built-ins and the CommonJS packages imported at the top of a chunk (better-sqlite3, undici) are
// taken through `require`, not `import` (the banner defines `require`):
// - an `import { x } from 'node:fs'` makes Node 20 build the module's whole ESM facade, which runs every
//   lazy getter of fs (ReadStream loads the stream modules, promises loads fs/promises);
// - an `import` of a CommonJS package runs cjs-module-lexer over its source to find its named exports.
// Each cost a few ms of CPU per run (issue #18). esbuild prints each such import on one line.
const IMPORT_CJS = /^import (?:\{([^}]*)\}|\* as (\w+)|(\w+)) from "(node:[\w/]+|better-sqlite3|undici)";$/gm;
for (const file of readdirSync(new URL('../dist/', import.meta.url))) {
  if (!file.endsWith('.js')) continue;
  const url = new URL(`../dist/${file}`, import.meta.url);
  const code = readFileSync(url, 'utf8').replace(IMPORT_CJS, (_all, names, star, def, id) => {
    const target = names === undefined ? (star ?? def) : `{${names.replace(/ as /g, ': ')}}`;
    return `const ${target} = require(${JSON.stringify(id)});`;
  });
  writeFileSync(url, code);
}
// The root help screen, recorded from the command tree for the launcher (src/cli/root-help.ts).
execFileSync(process.execPath, [fileURLToPath(new URL('../dist/generate.js', import.meta.url)), '--root-help'], {
  stdio: 'inherit',
});
// Migrations are plain .sql files read at run time from beside the bundle: SQLite's in dist/migrations/,
// PostgreSQL's in dist/migrations/pg/ (the copy is recursive; the SQLite opener reads only NNN_*.sql files).
cpSync(new URL('../src/store/migrations/', import.meta.url), new URL('../dist/migrations/', import.meta.url), {
  recursive: true,
});

// The code cache: the launcher compiles dist/main.cjs with it (bin/acctsec.cjs). V8 records in it the
// functions compiled so far, so it is written after one run of `status` (what every data command shares:
// commander, the profile, the store, the local back end), in a home of its own. V8 refuses a cache made by
// another V8 version or with other V8 flags, and the launcher then compiles as if there were none.
{
  const home = mkdtempSync(join(tmpdir(), 'acctsec-build-'));
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      XDG_STATE_HOME: join(home, 'state'),
      CI: 'true',
      NO_COLOR: '1',
    };
    const bin = fileURLToPath(new URL('../bin/acctsec.cjs', import.meta.url));
    execFileSync(
      process.execPath,
      [bin, 'init', '--username', 'warmup', '--email', 'warmup@example.com', '--no-input'],
      {
        env: { ...env, ACCTSEC_PASSWORD: 'a passphrase for the build only' },
        stdio: 'ignore',
      },
    );
    execFileSync(process.execPath, [bin, 'status'], {
      env: { ...env, ACCTSEC_WRITE_CODE_CACHE: '1' },
      stdio: 'ignore',
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
