import { Command, InvalidArgumentError } from 'commander';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';

function limitArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError(`"${value}" is not a number from 1 to 1000`);
  return n;
}

export function newCmdActivity(f: Factory): Command {
  return new Command('activity')
    .description("my account's security log, newest first")
    .option('--limit <n>', 'how many entries (1-1000)', limitArg, 20)
    .action((o: { limit: number }) => activityRun({ f, limit: o.limit }));
}

export async function activityRun(opts: { f: Factory; limit: number }): Promise<void> {
  const { f } = opts;
  const entries = await (await f.backend()).activity(opts.limit);
  if (f.globals.json) {
    f.io.json(entries);
    return;
  }
  const rows = entries.map((e) => [
    localTime(e.time),
    e.event,
    e.detail
      ? Object.entries(e.detail)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' ')
      : '',
    e.ip ?? '',
  ]);
  f.io.out(table(rows, ['TIME', 'EVENT', 'DETAIL', 'ADDRESS']));
}
