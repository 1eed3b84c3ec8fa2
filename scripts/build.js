// The build: one ESM bundle for the CLI (commander included), split at every dynamic import, so
// `acctsec --version` parses one file instead of resolving twenty (see bench/startup.bench.js).
// Runtime dependencies stay external (native addons cannot be bundled: argon2, and better-sqlite3's
// addon file; see BUNDLED), and are loaded lazily by the commands that need them. Type checking is
// `npm run typecheck`.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const external = [
  ...Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)),
  ...Object.keys(pkg.optionalDependencies ?? {}),
  'bindings',
];

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
await build({
  // The audit worker (issue #19 §3) is a file of its own: `new Worker(new URL('./audit-worker.js',
  // import.meta.url))` in service/audit.ts finds it beside the chunk that holds that code, in dist/.
  entryPoints: {
    main: 'src/cli/main.ts',
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
  plugins: [
    {
      name: 'lazy-child-process',
      setup(b) {
        b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
          /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
            ? { path: fileURLToPath(new URL('./lazy-child-process.cjs', import.meta.url)) }
            : undefined,
        );
      },
    },
  ],
});
// What the launcher loads for `acctsec --help` (issue #18): one file of its own, no shared chunks to
// resolve (the screen itself is recorded below).
await build({
  entryPoints: { 'root-help': 'src/cli/root-help.ts' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: {
    js: "import { createRequire as __acctsecCreateRequire } from 'node:module'; const require = __acctsecCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
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
