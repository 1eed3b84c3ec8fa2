import { Cancelled, MissingInput } from '../errors.js';

// Every prompt goes through here. It knows whether it may prompt (create-vite: interactive = flag ??
// stdin.isTTY) and otherwise raises the missing-input error naming the flag or variable to use.
// Prompts are drawn on stderr, so stdout stays clean for results and --json.

export interface Prompter {
  readonly interactive: boolean;
  /** `supply` says how to give the value without a prompt, e.g. "ACCTSEC_PASSWORD or --password-stdin". */
  password(message: string, supply: string): Promise<string>;
  text(
    message: string,
    supply: string,
    options?: { default?: string; validate?: (v: string) => string | true },
  ): Promise<string>;
  confirm(message: string, supply: string, defaultAnswer?: boolean): Promise<boolean>;
  select<T extends string>(message: string, supply: string, choices: { value: T; name: string }[]): Promise<T>;
}

function missing(message: string, supply: string): MissingInput {
  const what = message.replace(/[:?]\s*$/, '').toLowerCase();
  return new MissingInput(`${what} is needed and prompting is off (--no-input, CI or no terminal): use ${supply}`);
}

async function inquirer() {
  return import('@inquirer/prompts');
}

/** Ctrl-C at a prompt is a clean cancel, not a stack trace. */
async function guard<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError'))
      throw new Cancelled();
    throw err;
  }
}

export function createPrompter(interactive: boolean): Prompter {
  const context = { output: process.stderr, clearPromptOnDone: false };
  return {
    interactive,
    async password(message, supply) {
      if (!interactive) throw missing(message, supply);
      const { password } = await inquirer();
      return guard(() => password({ message, mask: '*' }, context));
    },
    async text(message, supply, options = {}) {
      if (!interactive) throw missing(message, supply);
      const { input } = await inquirer();
      return guard(() =>
        input(
          {
            message,
            ...(options.default ? { default: options.default } : {}),
            ...(options.validate ? { validate: options.validate } : {}),
          },
          context,
        ),
      );
    },
    async confirm(message, supply, defaultAnswer = false) {
      if (!interactive) throw missing(message, supply);
      const { confirm } = await inquirer();
      return guard(() => confirm({ message, default: defaultAnswer }, context));
    },
    async select(message, supply, choices) {
      if (!interactive) throw missing(message, supply);
      const { select } = await inquirer();
      return guard(() => select({ message, choices }, context));
    },
  };
}
