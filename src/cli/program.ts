import { Command } from 'commander';
import { EXAMPLES } from './examples.js';
import { boxWrap, formatItem } from './help-layout.js';
import type { Factory, GlobalOptions } from './factory.js';

// The command tree, in one place: main.ts runs it, and the generator (generate.ts) walks it to write
// the shell completions and the man page, so they never drift from the commands.

/** package.json's version, written in by the build (scripts/build.js). */
declare const ACCTSEC_VERSION: string;

export const EXIT_CODES: [number, string][] = [
  [0, 'success'],
  [1, 'unexpected failure'],
  [2, 'usage error, invalid input, or missing input under --no-input'],
  [3, 'authentication failed: wrong password or code, not signed in, session expired'],
  [4, 'not found (account, session, token, database...)'],
  [5, 'conflict: already exists, already enabled, nothing to do'],
  [6, 'throttled: too many attempts; the message says when to retry'],
  [
    7,
    'forbidden: role, scope, IP restriction or locked account for a session or token (a refused sign-in is exit 3), lock-out guard',
  ],
  [8, 'back end unavailable: database busy or unreadable, server unreachable'],
  [130, 'cancelled at a prompt (Ctrl-C)'],
];

export const ENVIRONMENT: [string, string][] = [
  ['ACCTSEC_PASSWORD', 'the password, instead of a prompt'],
  ['ACCTSEC_NEW_PASSWORD', 'the new password for `password change`'],
  ['ACCTSEC_PROFILE', 'config profile (like --profile)'],
  ['ACCTSEC_DB', 'local database file (like --db)'],
  [
    'ACCTSEC_DATABASE_URL',
    'PostgreSQL database URL (postgres://…), used instead of a local file (like serve --database)',
  ],
  ['ACCTSEC_ENCRYPTION_KEY', 'the at-rest key (base64 or hex, 256 bits), instead of the key file'],
  ['ACCTSEC_CONFIG_DIR', 'folder of the config file'],
  ['ACCTSEC_REMOTE', 'URL of an acctsec serve to use (like --remote)'],
  ['ACCTSEC_TOKEN', 'a personal access token for a remote server, instead of a session'],
  [
    'ACCTSEC_BOOTSTRAP_SECRET',
    'the one-time secret that lets `init` set up an empty remote server (like --bootstrap-secret-file)',
  ],
  ['ACCTSEC_NO_OPEN', "set to 1: print a security key page's URL, never open a browser (like --no-open)"],
  ['BROWSER', 'the browser that opens a security key page (default: xdg-open, open)'],
  [
    'ACCTSEC_DEBUG',
    'set to 1 to show stack traces of unexpected failures, and a code cache V8 refused (slower start-up)',
  ],
  ['NO_COLOR', 'disable colour'],
  ['CI', 'when set, never prompt (like --no-input)'],
];
/** The longest variable's name and two spaces: ACCTSEC_BOOTSTRAP_SECRET is 24 characters. */
const ENVIRONMENT_COLUMN = Math.max(...ENVIRONMENT.map(([n]) => n.length)) + 2;

/**
 * The command tree. `f` is a stand-in for the factory that `beforeAction` builds once the global
 * options are parsed: nothing heavy (not even chalk) is loaded for --help or --version.
 *
 * `makers` are the top-level commands to build: a run of the CLI builds only the one it names
 * (`commandsFor`); the generator and the tests build them all (`allCommands`).
 */
export function buildProgram(f: Factory, beforeAction: (g: GlobalOptions) => Promise<void>, makers: Makers): Command {
  const program = new Command('acctsec')
    .description(
      'Account security from the terminal: password, MFA (app, email, security keys), recovery codes, IP restriction, access tokens.',
    )
    .version(ACCTSEC_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--json', 'print exactly one JSON document on stdout')
    .option('--no-input', 'never prompt (also when stdin is not a terminal or CI is set)')
    .option('-y, --yes', 'answer yes to confirmations')
    .option('--profile <name>', 'config profile (env ACCTSEC_PROFILE; default "default")')
    .option('--db <path>', 'local database file (env ACCTSEC_DB)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .option('-q, --quiet', 'print only results and errors')
    .option('--remote <url>', 'use a remote acctsec serve (env ACCTSEC_REMOTE)')
    .option(
      '--insecure-http',
      'allow an http:// --remote that is not this machine (passwords would cross the network in clear)',
    )
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes:\n' +
        EXIT_CODES.map(([c, m]) => `  ${String(c).padEnd(4)}${m}`).join('\n') +
        '\n\nEnvironment:\n' +
        ENVIRONMENT.map(([n, m]) => `  ${n.padEnd(ENVIRONMENT_COLUMN)}${m}`).join('\n') +
        '\n\nSecrets are never taken as arguments: prompts, --password-stdin or the variables above.',
    );
  program.hook('preAction', (_cmd, action) => beforeAction(action.optsWithGlobals<GlobalOptions>()));
  for (const [group, names] of GROUPS) {
    for (const name of names) {
      const make = makers[name];
      if (make) program.addCommand(make(f).helpGroup(group));
    }
  }
  if (makers.__complete) program.addCommand(makers.__complete(f), { hidden: true });
  applyToTree(program, (cmd) => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: () => undefined });
    // Commander's own layout, from one module the launcher's recorded root help shares (issue #18).
    cmd.configureHelp({
      formatItem: (term, termWidth, description, helper) =>
        formatItem(term, termWidth, description, helper.helpWidth ?? 80),
      boxWrap: (str, width) => boxWrap(str, width),
    });
    const examples = EXAMPLES[commandPath(cmd)];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`);
  });
  return program;
}

export type Maker = (f: Factory) => Command;
/** Top-level commands by name (and the hidden `__complete`): all of them, or the one a run names. */
export type Makers = Partial<Record<string, Maker>>;

/** Top-level help groups commands by what they are for (issue #9); each command by its name. */
const GROUPS: [string, string[]][] = [
  ['Account:', ['init', 'login', 'logout', 'status', 'sessions', 'password', 'username', 'email', 'activity']],
  ['Security:', ['mfa', 'recovery-codes', 'ip', 'recovery', 'recover', 'notifications']],
  ['Developer access:', ['token', 'apikey', 'apps']],
  ['Support:', ['admin']],
  ['Other:', ['serve', 'config', 'completion']],
];

/** Other names of top-level commands (commander aliases); test/cli/unit/program.test.ts keeps both true. */
export const TOP_LEVEL_ALIASES: Record<string, string> = { whoami: 'status' };

/** The top-level commands by name, in help order, for the test that keeps GROUPS true. */
export const TOP_LEVEL_NAMES: string[] = GROUPS.flatMap(([, names]) => names);

/** Global options that take a value (the value is not a command name). */
const GLOBAL_WITH_VALUE = new Set(['--profile', '--db', '--remote']);

/**
 * The top-level command a run names, when it can be built alone; undefined when the whole tree is
 * needed. `argv` is process.argv (node, script, arguments...).
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (GLOBAL_WITH_VALUE.has(arg)) i++;
      continue;
    }
    const name = TOP_LEVEL_ALIASES[arg] ?? arg;
    if (name === 'completion') return undefined;
    return name === '__complete' || TOP_LEVEL_NAMES.includes(name) ? name : undefined;
  }
  return undefined;
}

/**
 * Each top-level command's module, loaded on its own (issue #18): a run that names one command parses
 * only that command's code, not the fifty-odd others (the esbuild bundle splits at each import()).
 */
const LOADERS: Record<string, () => Promise<Maker>> = {
  init: async () => (await import('./commands/init.js')).newCmdInit,
  login: async () => (await import('./commands/login.js')).newCmdLogin,
  logout: async () => (await import('./commands/logout.js')).newCmdLogout,
  status: async () => (await import('./commands/status.js')).newCmdStatus,
  sessions: async () => (await import('./commands/sessions.js')).newCmdSessions,
  password: async () => (await import('./commands/password.js')).newCmdPassword,
  username: async () => (await import('./commands/username.js')).newCmdUsername,
  email: async () => (await import('./commands/email.js')).newCmdEmail,
  activity: async () => (await import('./commands/activity.js')).newCmdActivity,
  mfa: async () => (await import('./commands/mfa.js')).newCmdMfa,
  'recovery-codes': async () => (await import('./commands/recovery-codes.js')).newCmdRecoveryCodes,
  ip: async () => (await import('./commands/ip.js')).newCmdIp,
  recovery: async () => (await import('./commands/recovery.js')).newCmdRecovery,
  recover: async () => (await import('./commands/recovery.js')).newCmdRecover,
  notifications: async () => (await import('./commands/notifications.js')).newCmdNotifications,
  token: async () => (await import('./commands/token.js')).newCmdToken,
  apikey: async () => (await import('./commands/apikey.js')).newCmdApikey,
  apps: async () => (await import('./commands/apps.js')).newCmdApps,
  admin: async () => (await import('./commands/admin.js')).newCmdAdmin,
  serve: async () => (await import('./commands/serve.js')).newCmdServe,
  config: async () => (await import('./commands/config.js')).newCmdConfig,
  completion: async () => (await import('./commands/completion.js')).newCmdCompletion,
  __complete: async () => (await import('./commands/completion.js')).newCmdComplete,
};

/**
 * The commands a run needs: the one it names, alone (issue #18: building all fifty-odd commands took
 * about 8 ms, and parsing their code more), or the whole tree for the program's help, `help`,
 * `completion` (it walks the tree) and a misspelt command (for the suggestion).
 */
export async function commandsFor(argv: readonly string[]): Promise<Makers> {
  const only = commandNamed(argv);
  const load = only === undefined ? undefined : LOADERS[only];
  return load ? { [only!]: await load() } : allCommands();
}

/**
 * Every top-level command: the whole tree (the program's help, `help`, `completion`, a misspelt
 * command, the generator, the tests). Loaded through LOADERS too, so that no command module is also
 * imported statically (esbuild would then add a file for each command to every run).
 */
export async function allCommands(): Promise<Makers> {
  const entries = await Promise.all(Object.entries(LOADERS).map(async ([name, load]) => [name, await load()]));
  return Object.fromEntries(entries) as Makers;
}

/** "mfa totp enable" for that command; "" for the program. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

export function applyToTree(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) applyToTree(sub, fn);
}
