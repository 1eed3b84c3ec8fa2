// `admin users import` at scale (issue #19 §4; target >= 1,000 accounts/s locally, memory flat): a CSV
// of BENCH_IMPORT_ACCOUNTS accounts (default 20,000; 100,000 for the README figure) imported into a
// fresh local database with --tokens-to, in one run of the CLI. Wall time and peak RSS are the child's
// own, read by bench/fixtures/usage.py (getrusage of its child), as in startup.bench.js. The figure
// includes both passes over the file (the check of every row, then the batches).
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const name = 'admin users import: accounts/s and peak RSS (target >= 1000 accounts/s, memory flat)';

const BIN = fileURLToPath(new URL('../bin/acctsec.cjs', import.meta.url));
const USAGE = fileURLToPath(new URL('./fixtures/usage.py', import.meta.url));
const ACCOUNTS = Number(process.env.BENCH_IMPORT_ACCOUNTS ?? 20_000);
const PASSWORD = 'correct horse battery staple 42';

async function writeCsv(path, n) {
  const out = createWriteStream(path);
  const write = (text) => (out.write(text) ? Promise.resolve() : new Promise((r) => out.once('drain', r)));
  await write('username,email,role\n');
  for (let i = 0; i < n; i++) await write(`u${n}.${i},u${n}.${i}@example.com,${i % 100 === 0 ? 'support' : 'user'}\n`);
  await new Promise((r) => out.end(r));
}

export async function run() {
  const home = mkdtempSync(join(tmpdir(), 'acctsec-bench-import-'));
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_STATE_HOME: join(home, '.local/state'),
    NO_COLOR: '1',
    CI: 'true',
  };
  delete env.ACCTSEC_REMOTE;
  delete env.ACCTSEC_PROFILE;
  try {
    execFileSync(process.execPath, [BIN, 'init', '--username', 'carol', '--email', 'carol@example.com', '--no-input'], {
      env: { ...env, ACCTSEC_PASSWORD: PASSWORD },
    });
    const lines = [
      '| accounts | file MiB | wall s | accounts/s | peak RSS MiB | target |',
      '|---|---|---|---|---|---|',
    ];
    for (const n of [...new Set([1000, ACCOUNTS])]) {
      const csv = join(home, `accounts-${n}.csv`);
      await writeCsv(csv, n);
      const usageFile = join(home, 'usage.jsonl');
      writeFileSync(usageFile, '');
      const tokens = join(home, `tokens-${n}.csv`);
      // The 1,000 run shows the fixed cost of a run (start-up, the session, the first batch).
      const r = spawnSync(
        '/usr/bin/python3',
        [
          USAGE,
          process.execPath,
          BIN,
          'admin',
          'users',
          'import',
          csv,
          '--reason',
          'bench',
          '--tokens-to',
          tokens,
          '--yes',
          '--json',
        ],
        { env: { ...env, BENCH_USAGE_TO: usageFile }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
      );
      if (r.status !== 0) throw new Error(`import of ${n} exited ${r.status}: ${String(r.stderr)}`);
      const summary = JSON.parse(String(r.stdout));
      if (summary.created !== n) throw new Error(`import of ${n} created ${summary.created}`);
      const usage = JSON.parse(readFileSync(usageFile, 'utf8').trim().split('\n').pop());
      const rate = n / (usage.wall / 1000);
      lines.push(
        `| ${n} | ${(statSync(csv).size / 2 ** 20).toFixed(1)} | ${(usage.wall / 1000).toFixed(2)} | ${Math.round(rate)} | ${usage.rss.toFixed(1)} | ${n >= 10_000 ? (rate >= 1000 ? 'met' : 'NOT met') : 'fixed cost'} |`,
      );
    }
    lines.push(
      '',
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at the end`,
    );
    return lines;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
