import type { Argument, Command, Option } from 'commander';

// The command tree as plain data, read from commander, for the completion scripts and the man page.

export interface OptionInfo {
  flags: string;
  long?: string;
  short?: string;
  takesValue: boolean;
  choices: string[];
  /** Values read from the store at completion time (`acctsec __complete KIND`). */
  dynamic?: string;
  description: string;
}

export interface ArgumentInfo {
  name: string;
  required: boolean;
  variadic: boolean;
  choices: string[];
  dynamic?: string;
  description: string;
}

export interface CommandInfo {
  /** "acctsec mfa totp enable" */
  path: string;
  name: string;
  description: string;
  usage: string;
  options: OptionInfo[];
  args: ArgumentInfo[];
  commands: CommandInfo[];
}

/** Positional arguments whose values come from the store. */
const DYNAMIC_ARGUMENTS: Record<string, string> = {
  'acctsec token revoke': 'tokens',
  'acctsec token rotate': 'tokens',
  'acctsec ip remove': 'ip',
  'acctsec recovery email confirm': 'recovery-emails',
  'acctsec recovery email remove': 'recovery-emails',
  'acctsec sessions revoke': 'sessions',
  'acctsec admin users show': 'users',
  'acctsec admin users set-role': 'users',
  'acctsec admin reset-password': 'users',
  'acctsec admin reset-mfa': 'users',
  'acctsec admin lock': 'users',
  'acctsec admin unlock': 'users',
  'acctsec admin sessions revoke': 'users',
  'acctsec admin ip show': 'users',
  'acctsec admin ip clear': 'users',
};

/** Options whose values come from the store (or the config file). */
const DYNAMIC_OPTIONS: Record<string, string> = { '--profile': 'profiles', '--user': 'users', '--actor': 'users' };

function option(o: Option): OptionInfo {
  const info: OptionInfo = {
    flags: o.flags,
    takesValue: o.required || o.optional,
    choices: o.argChoices ?? [],
    description: o.description,
  };
  if (o.long) info.long = o.long;
  if (o.short) info.short = o.short;
  const dynamic = o.long ? DYNAMIC_OPTIONS[o.long] : undefined;
  if (dynamic) info.dynamic = dynamic;
  return info;
}

function argument(a: Argument, path: string, index: number): ArgumentInfo {
  const info: ArgumentInfo = {
    name: a.name(),
    required: a.required,
    variadic: a.variadic,
    choices: a.argChoices ?? [],
    description: a.description,
  };
  const dynamic = index === 0 ? DYNAMIC_ARGUMENTS[path] : undefined;
  if (dynamic) info.dynamic = dynamic;
  return info;
}

function hidden(cmd: Command): boolean {
  return (cmd as unknown as { _hidden: boolean })._hidden;
}

export function describeTree(cmd: Command, parentPath = ''): CommandInfo {
  const path = parentPath ? `${parentPath} ${cmd.name()}` : cmd.name();
  return {
    path,
    name: cmd.name(),
    description: cmd.description(),
    usage: cmd.usage(),
    options: cmd.options.filter((o) => !o.hidden).map(option),
    args: cmd.registeredArguments.map((a, i) => argument(a, path, i)),
    commands: cmd.commands.filter((c) => !hidden(c)).map((c) => describeTree(c, path)),
  };
}

export function flatten(tree: CommandInfo): CommandInfo[] {
  return [tree, ...tree.commands.flatMap(flatten)];
}
