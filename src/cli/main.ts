import { CommanderError } from 'commander';
import { AcctsecError } from '../errors.js';
import type { Factory, GlobalOptions } from './factory.js';
import { buildProgram, commandsFor } from './program.js';

// The one place that turns errors into SPEC §1 exit codes and one-line messages (cli/cli's
// ghcmd/cmd.go). No other file sets the exit code or calls process.exit.

function printError(err: unknown, json: boolean): number {
  let code = 1;
  let slug = 'internal';
  let message: string;
  let details: Record<string, unknown> = {};
  if (err instanceof AcctsecError) {
    code = err.exitCode;
    slug = err.slug;
    message = err.message;
    details = err.details();
  } else if (err instanceof CommanderError) {
    code = 2;
    slug = 'usage';
    message = err.message.replace(/^error: /, '') + ' (see --help)';
  } else {
    message = err instanceof Error ? err.message : String(err);
    if (process.env.ACCTSEC_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    else message += ' (set ACCTSEC_DEBUG=1 for details)';
  }
  if (json) process.stderr.write(JSON.stringify({ error: { code: slug, message, ...details } }) + '\n');
  else process.stderr.write(`acctsec: ${message}\n`);
  return code;
}

export async function main(argv: string[]): Promise<number> {
  let globals: GlobalOptions = { json: argv.includes('--json'), input: true, yes: false, color: true, quiet: false };
  let factory: Factory | undefined;
  const lazy = new Proxy({} as Factory, {
    get(_target, key) {
      if (!factory) throw new Error('the factory is used before the command runs');
      return Reflect.get(factory, key) as unknown;
    },
  });
  const program = buildProgram(
    lazy,
    async (g) => {
      globals = g;
      const { createFactory } = await import('./factory.js');
      factory = createFactory(g);
    },
    await commandsFor(argv),
  );
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return 0;
    // A group without its subcommand (`acctsec sessions`): commander printed the help; it is a usage error.
    if (err instanceof CommanderError && err.code === 'commander.help') return 2;
    if (factory && err instanceof AcctsecError && (err.slug === 'not_signed_in' || err.slug === 'session_expired'))
      err.message = await factory.explainSignIn(err.message, globals.json).catch(() => err.message);
    return printError(err, globals.json);
  } finally {
    await factory?.close();
  }
}

// A reader that stops early (`acctsec --help | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// Not a top-level await: the bundle is CommonJS (scripts/build.js), so the launcher can hand V8 a code
// cache for it. main() settles every error itself.
void main(process.argv).then((code) => {
  process.exitCode = code;
});
