// `acctsec --help`, `-h`, `help` and a bare `acctsec` print the root help without loading the CLI
// (issue #18): the build records the root help screen once (`dist/generate.js --root-help` writes
// dist/root-help.json), keeping as data the parts that depend on the terminal's width, and the
// launcher (bin/acctsec.cjs) lays them out with help-layout.ts, the same code commander uses in the
// full CLI. The full CLI remains the fallback when the recording is missing.
import type { Command } from 'commander';
import type * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { boxWrap, formatItem } from './help-layout.js';

/** Text, items (term, term column width, description) and paragraphs to wrap, in order. */
export type RecordedHelp = (string | { item: [string, number, string] } | { wrap: string })[];

/** The root help screen of `program`, with its width-dependent parts left as data. */
export function recordRootHelp(program: Command): RecordedHelp {
  const parts: RecordedHelp = [];
  const marks: RecordedHelp = [];
  const mark = (part: RecordedHelp[number]): string => `\u0000${marks.push(part) - 1}\u0000`;
  let text = '';
  program.configureHelp({
    ...program.configureHelp(),
    formatItem: (term, termWidth, description) => mark({ item: [term, termWidth, description] }),
    boxWrap: (str) => mark({ wrap: str }),
  });
  program.configureOutput({ writeOut: (s) => (text += s) });
  program.outputHelp();
  text.split('\u0000').forEach((piece, i) => {
    if (i % 2 === 1) parts.push(marks[Number(piece)]!);
    else if (piece) parts.push(piece);
  });
  return parts;
}

/** The recorded screen laid out for a terminal `width` columns wide. */
export function renderHelp(parts: RecordedHelp, width: number): string {
  return parts
    .map((p) =>
      typeof p === 'string'
        ? p
        : 'item' in p
          ? formatItem(p.item[0], p.item[1], p.item[2], width)
          : boxWrap(p.wrap, width),
    )
    .join('');
}

/** Commander's width: the terminal's columns when the stream is one, else 80. */
export function helpWidth(stream: NodeJS.WriteStream): number {
  return (stream.isTTY ? stream.columns : undefined) ?? 80;
}

/**
 * The launcher's entry: prints the recorded root help (to stderr for a bare `acctsec`, which is a usage
 * error, exit 2, as in the full CLI) and returns the exit code. Throws, having printed nothing, when
 * the recording is missing or unreadable: the launcher then runs the full CLI.
 */
export function printRootHelp(bare: boolean): number {
  // `require`: the file is CommonJS (dist/root-help.cjs), and Node's require takes no ES module detour.
  const { readFileSync } = createRequire(import.meta.url)('node:fs') as typeof fs;
  const parts = JSON.parse(readFileSync(new URL('./root-help.json', import.meta.url), 'utf8')) as RecordedHelp;
  const stream = bare ? process.stderr : process.stdout;
  // A reader that went away (`acctsec --help | head`) is not an error, as in the full CLI (main.ts).
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(bare ? 2 : 0);
    throw err;
  });
  stream.write(renderHelp(parts, helpWidth(stream)));
  return bare ? 2 : 0;
}
