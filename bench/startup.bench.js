// Start-up of every command a user or a script runs often, against `node -e 0` measured in the same
// run (issue #18): each round runs the baseline and every command once, interleaved, after two warm-up
// rounds; the figures are medians. Wall time, CPU time (user + system) and peak RSS are the process's
// own, read by a small wrapper (bench/fixtures/usage.py: getrusage of its child), so nothing of ours
// is loaded into the measured processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const name =
  'start-up of each command vs node -e 0 (targets: --version/--help <= 1.3x CPU; data commands <= 2x CPU and <= 60 MiB)';

const BIN = fileURLToPath(new URL('../bin/acctsec.cjs', import.meta.url));
const USAGE = fileURLToPath(new URL('./fixtures/usage.py', import.meta.url));
const ROUNDS = Number(process.env.BENCH_RUNS ?? 15);
const PASSWORD = 'correct horse battery staple 42';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const home = mkdtempSync(join(tmpdir(), 'acctsec-bench-startup-'));
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    NO_COLOR: '1',
    CI: 'true',
  };
  delete env.ACCTSEC_REMOTE;
  delete env.ACCTSEC_PROFILE;
  try {
    const cli = (args, input) =>
      execFileSync(process.execPath, [BIN, ...args], {
        env: { ...env, ACCTSEC_PASSWORD: PASSWORD },
        input: input ?? '',
        encoding: 'utf8',
      });
    cli(['init', '--username', 'carol', '--email', 'carol@example.com', '--no-input']);
    const token = JSON.parse(
      cli(['token', 'create', '--name', 'bench', '--scope', 'dns:read', '--json', '--no-input']),
    ).token;
    const usageFile = join(home, 'usage.jsonl');
    const commands = [
      { label: 'node -e 0', args: ['-e', '0'], baseline: true },
      { label: '--version', args: [BIN, '--version'], target: 1.3 },
      { label: '--help', args: [BIN, '--help'], target: 1.3 },
      { label: 'status', args: [BIN, 'status'], target: 2, rss: 60 },
      { label: 'ip list', args: [BIN, 'ip', 'list'], target: 2, rss: 60 },
      { label: 'token list', args: [BIN, 'token', 'list'], target: 2, rss: 60 },
      { label: 'mfa status', args: [BIN, 'mfa', 'status'], target: 2, rss: 60 },
      { label: '__complete tokens', args: [BIN, '__complete', 'tokens'], target: 2, rss: 60 },
      { label: 'token verify', args: [BIN, 'token', 'verify'], input: `${token}\n` },
      // Commands that write: no target (an argon2 hash, a config write, a notice mail), watched so they do
      // not drift (issue #16 took the ES module loader out of them).
      { label: 'config set', args: [BIN, 'config', 'set', 'policy.passwordMinLength', '14'] },
      {
        label: 'login',
        args: [BIN, 'login', '--username', 'carol', '--no-input'],
        env: { ACCTSEC_PASSWORD: PASSWORD },
      },
    ];
    const samples = new Map(commands.map((c) => [c.label, { wall: [], cpu: [], rss: [] }]));
    for (let round = 0; round < ROUNDS + 2; round++) {
      for (const c of commands) {
        writeFileSync(usageFile, '');
        const r = spawnSync('/usr/bin/python3', [USAGE, process.execPath, ...c.args], {
          env: { ...env, ...c.env, BENCH_USAGE_TO: usageFile },
          input: c.input ?? '',
          stdio: ['pipe', 'ignore', 'pipe'],
        });
        if (r.status !== 0) throw new Error(`${c.label} exited ${r.status}: ${String(r.stderr)}`);
        if (round < 2) continue; // warm-up: the file cache, the compile caches
        const usage = JSON.parse(readFileSync(usageFile, 'utf8').trim().split('\n').pop());
        const s = samples.get(c.label);
        s.wall.push(usage.wall);
        s.cpu.push(usage.cpu);
        s.rss.push(usage.rss);
      }
    }
    const base = samples.get('node -e 0');
    const baseWall = median(base.wall);
    const baseCpu = median(base.cpu);
    const lines = [
      `${ROUNDS} interleaved rounds after 2 warm-up rounds; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at the end`,
      '',
      '| command | wall ms | wall × | CPU ms | CPU × | peak RSS MiB | target |',
      '|---|---|---|---|---|---|---|',
    ];
    for (const c of commands) {
      const s = samples.get(c.label);
      const wall = median(s.wall);
      const cpu = median(s.cpu);
      const rss = median(s.rss);
      const target = c.target
        ? `CPU <= ${c.target}x${c.rss ? `, RSS <= ${c.rss} MiB` : ''}: ${cpu / baseCpu <= c.target && (!c.rss || rss <= c.rss) ? 'met' : 'NOT met'}`
        : c.baseline
          ? 'baseline'
          : '';
      lines.push(
        `| ${c.label} | ${wall.toFixed(1)} | ${(wall / baseWall).toFixed(2)} | ${cpu.toFixed(1)} | ${(cpu / baseCpu).toFixed(2)} | ${rss.toFixed(1)} | ${target} |`,
      );
    }
    return lines;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
