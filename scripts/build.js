// The build: one ESM bundle for the CLI (commander included), split at every dynamic import, so
// `acctsec --version` parses one file instead of resolving twenty (see bench/startup.bench.js).
// Runtime dependencies stay external: native addons (argon2, better-sqlite3) cannot be bundled, and the
// others are loaded lazily by the commands that need them. Type checking is `npm run typecheck`.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
// Bundled, not external: commander (every run parses with it), valibot (the route schemas; bundling
// keeps only the validators the table uses, a few KiB, instead of the whole library), and the small
// pure-JS modules every command that opens the store loads (chalk, ipaddr.js, env-paths, otpauth):
// resolving their dozen files through Node's ESM loader cost more than parsing them (issue #18:
// `status` 0.21 s -> 0.14 s of user CPU, median of 15).
const BUNDLED = new Set(['commander', 'valibot', 'chalk', 'ipaddr.js', 'env-paths', 'otpauth']);
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name));

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts', 'src/cli/generate.ts'],
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
});
// Migrations are plain .sql files read at run time from beside the bundle.
cpSync(new URL('../src/store/migrations/', import.meta.url), new URL('../dist/migrations/', import.meta.url), {
  recursive: true,
});
