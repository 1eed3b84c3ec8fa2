// Start-up: `acctsec --version` against `node -e 0`, interleaved so both see the same machine state.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const name = 'start-up: acctsec --version vs node -e 0 (target <= 1.5x)';

const BIN = fileURLToPath(new URL('../bin/acctsec.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function time(args) {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  time([BIN, '--version']); // warm the file cache
  const base = [];
  const ours = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(time(['-e', '0']));
    ours.push(time([BIN, '--version']));
  }
  const b = median(base);
  const o = median(ours);
  return [
    `node -e 0            median ${b.toFixed(1)} ms over ${RUNS} runs`,
    `acctsec --version    median ${o.toFixed(1)} ms over ${RUNS} runs`,
    `ratio                ${(o / b).toFixed(2)}x`,
  ];
}
