import { Chalk, type ChalkInstance } from 'chalk';

/** The terminal: stdout for results, stderr for notices, warnings and prompts (SPEC §1). */
export interface IO {
  readonly color: ChalkInstance;
  readonly stdoutIsTTY: boolean;
  /** A line of the result on stdout (never under --json: use json()). */
  out(text: string): void;
  /** A line of a long result, waiting when the reader is slower (memory stays flat). */
  stream(text: string): Promise<void>;
  /** The one JSON document of a --json run. */
  json(value: unknown): void;
  /** Progress and notices on stderr; silenced by --quiet. */
  note(text: string): void;
  /** Warnings on stderr, even with --quiet. */
  warn(text: string): void;
  readonly stderrIsTTY: boolean;
  /**
   * A progress bar on a terminal's stderr, redrawn in place; null ends it (the line is kept). Only
   * called when stderrIsTTY; silenced by --quiet.
   */
  progress(text: string | null): void;
}

export function createIO(options: { color: boolean; quiet: boolean }): IO {
  // NO_COLOR (no-color.org) and TERM=dumb (a terminal without escape sequences) mean --no-color.
  const colorAllowed = options.color && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  const color = new Chalk({ level: colorAllowed && process.stdout.isTTY ? 1 : 0 });
  const errColor = new Chalk({ level: colorAllowed && process.stderr.isTTY ? 1 : 0 });
  return {
    color,
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    out: (text) => void process.stdout.write(text + '\n'),
    stream: (text) =>
      new Promise<void>((resolve, reject) => {
        if (process.stdout.write(text + '\n')) resolve();
        else process.stdout.once('drain', resolve).once('error', reject);
      }),
    json: (value) => void process.stdout.write(JSON.stringify(value, null, 2) + '\n'),
    note: (text) => {
      if (!options.quiet) process.stderr.write(text + '\n');
    },
    warn: (text) => void process.stderr.write(errColor.yellow('warning: ') + text + '\n'),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    progress: (text) => {
      if (options.quiet) return;
      process.stderr.write(text === null ? '\n' : `\r\x1b[2K${text}`);
    },
  };
}
