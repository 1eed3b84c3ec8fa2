import { Option, type Command } from 'commander';
import { AuthFailed, InvalidInput } from '../errors.js';
import type { Backend } from '../backend/backend.js';
import type { KeyCeremony } from '../views.js';
import type { Factory } from './factory.js';

// The terminal's half of a security key ceremony (SPEC §4.3): print the page's URL, open it in the
// browser unless --no-open, and wait (with a timeout) for the browser's answer to arrive.

export const DEFAULT_TIMEOUT_SECONDS = 300;

/** The options of every command that runs a ceremony in the browser. */
export function ceremonyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--no-open', "print the page's URL only; do not open a browser (also ACCTSEC_NO_OPEN=1)"))
    .option('--timeout <seconds>', 'how long to wait for the browser (5 to 300)', String(DEFAULT_TIMEOUT_SECONDS));
}

export interface CeremonyFlags {
  /** commander's --no-open sets open: false. */
  open?: boolean;
  timeout?: string;
}

/** --timeout: whole seconds, 5 to 300 (a ceremony lives 5 minutes). */
export function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < 5 || n > 300)
    throw new InvalidInput(`invalid --timeout "${text}": whole seconds from 5 to 300`, '--timeout');
  return n;
}

/**
 * Opens a URL in the user's browser; a failure only means the user opens it by hand. node:child_process
 * is loaded here, not at the top: every command loads this module, few open a browser (issue #18).
 */
async function openInBrowser(url: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const [command, args] = process.env.BROWSER
    ? [process.env.BROWSER, [url]]
    : process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true, env: browserEnv(process.env) });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // The URL is printed; that is enough.
  }
}

/**
 * The browser's environment: ours without the secrets it may hold (the password, a token, the at-rest key,
 * a database URL with its password, PostgreSQL's password variables). A browser outlives the command and
 * hands its environment to whatever it starts.
 */
export function browserEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !/^ACCTSEC_/.test(name) && !/^PG(SSL)?PASSWORD$|^PGPASSFILE$/.test(name)),
  );
}

/** Shows the ceremony's page and waits until the browser answered; throws when it refused or timed out. */
export async function awaitBrowser(
  f: Factory,
  backend: Backend,
  ceremony: KeyCeremony,
  flags: CeremonyFlags,
  what: string,
): Promise<void> {
  const timeoutSeconds = parseTimeout(flags.timeout);
  f.io.note(`${what}: open ${ceremony.url} in a browser on this computer and touch your key.`);
  if (flags.open !== false && !process.env.ACCTSEC_NO_OPEN) await openInBrowser(ceremony.url);
  const until = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0)
      throw new AuthFailed(
        `no answer from the browser within ${timeoutSeconds} s; nothing changed (run the command again)`,
        'key_timeout',
      );
    const state = await backend.awaitKeyCeremony(ceremony.ceremonyId, Math.min(left, 15_000));
    if (state.state === 'answered') return;
    if (state.state === 'failed')
      throw new AuthFailed(`the browser reported: ${state.message ?? 'no answer'}; nothing changed`, 'key_refused');
    if (state.state === 'expired' || state.state === 'used')
      throw new AuthFailed(
        `the security key ceremony ${state.state === 'used' ? 'was already used' : 'expired'}; run the command again`,
        'key_timeout',
      );
  }
}
