// Token verify throughput in-process with 100,000 tokens stored (issue #6: target >= 20,000/s),
// against the bare hash + index lookup it is built on, in the same process.
import { cpSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

export const name = 'token verify, in-process, 100,000 tokens stored';

export async function run() {
  const out = new URL('./.build/token-verify.mjs', import.meta.url);
  mkdirSync(new URL('./.build/', import.meta.url), { recursive: true });
  await build({
    entryPoints: [new URL('./targets/token-verify.ts', import.meta.url).pathname],
    outfile: out.pathname,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  // The store reads its migrations from beside the bundle, as in dist/.
  cpSync(new URL('../src/store/migrations/', import.meta.url), new URL('./.build/migrations/', import.meta.url), {
    recursive: true,
  });
  const { measure } = await import(out.href);
  return measure(Number(process.env.BENCH_TOKENS ?? 100_000), Number(process.env.BENCH_SECONDS ?? 2));
}
