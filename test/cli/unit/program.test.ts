import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Factory } from '../../../src/cli/factory.js';
import {
  applyToTree,
  buildProgram,
  commandNamed,
  commandsFor,
  commandPath,
  TOP_LEVEL_ALIASES,
  TOP_LEVEL_NAMES,
  allCommands,
} from '../../../src/cli/program.js';

/** Every command, as the whole tree is built from them. */
const ALL = await allCommands();

// A run builds only the top-level command it names (issue #18): these tests keep the table of names
// true to the commands, and the part that is built identical to the same part of the whole tree.

const noFactory = {} as Factory;
const noop = async () => undefined;
const run = (...args: string[]) => ['node', 'acctsec', ...args];

/** Every command of a tree with its help text, by path. */
function helpTexts(root: Command): Map<string, string> {
  const texts = new Map<string, string>();
  applyToTree(root, (cmd) => texts.set(commandPath(cmd), cmd.helpInformation()));
  return texts;
}

describe('the command tree built for one run (issue #18)', () => {
  const whole = buildProgram(noFactory, noop, ALL);

  // Every command's help as `acctsec ... --help` prints it (commander's outputHelp, the examples added
  // after it); test/cli/packaging.test.ts runs `--help` through the built CLI for a sample.
  it('every command has a one-line description and at least one example', () => {
    const missing: string[] = [];
    let count = 0;
    applyToTree(whole, (cmd) => {
      if (cmd.name() === '__complete') return;
      count++;
      let out = '';
      cmd.configureOutput({ writeOut: (text) => (out += text), writeErr: (text) => (out += text) });
      cmd.outputHelp();
      const description = out.split('\n')[2] ?? '';
      if (!description.trim() || !/\nExamples:\n {2}\$ .*acctsec/.test(out))
        missing.push(commandPath(cmd) || 'acctsec');
    });
    expect(count).toBeGreaterThan(70);
    expect(missing).toEqual([]);
  });

  it('names every top-level command and alias of the whole tree, in order', () => {
    const visible = whole.commands.filter((c) => c.name() !== '__complete');
    expect(visible.map((c) => c.name())).toEqual(TOP_LEVEL_NAMES);
    const aliases = Object.fromEntries(visible.flatMap((c) => c.aliases().map((a) => [a, c.name()])));
    expect(aliases).toEqual(TOP_LEVEL_ALIASES);
  });

  it('finds the command after global options and their values', () => {
    expect(commandNamed(run('status'))).toBe('status');
    expect(commandNamed(run('whoami', '--json'))).toBe('status');
    expect(commandNamed(run('--profile', 'token', '--db', 'x.db', '--json', 'ip', 'list'))).toBe('ip');
    expect(commandNamed(run('--remote', 'http://127.0.0.1:1', '-q', 'token', 'verify'))).toBe('token');
    expect(commandNamed(run('--profile=ip', 'mfa', 'status'))).toBe('mfa');
    expect(commandNamed(run('__complete', 'tokens'))).toBe('__complete');
  });

  it('builds the whole tree for the program help, help, completion, a misspelt or no command', async () => {
    for (const args of [[], ['--help'], ['-h'], ['help', 'status'], ['completion', 'bash'], ['stauts'], ['--', 'x']]) {
      expect(commandNamed(run(...args)), args.join(' ')).toBeUndefined();
      expect(await commandsFor(run(...args)), args.join(' ')).toEqual(ALL);
      expect(buildProgram(noFactory, noop, await commandsFor(run(...args))).commands).toHaveLength(
        whole.commands.length,
      );
    }
  });

  it('loads only the hidden completion command for a completion request', async () => {
    expect(Object.keys(await commandsFor(run('__complete', 'tokens')))).toEqual(['__complete']);
  });

  it.each(TOP_LEVEL_NAMES.filter((name) => name !== 'completion'))(
    '`%s` alone: only it is built, and every help text of it is the same',
    async (name) => {
      const alone = buildProgram(noFactory, noop, await commandsFor(run('--json', name)));
      expect(alone.commands.map((c) => c.name())).toEqual([name]);
      const part = whole.commands.find((c) => c.name() === name)!;
      const expected = helpTexts(part);
      const actual = helpTexts(alone.commands[0]!);
      expect([...actual.keys()]).toEqual([...expected.keys()]);
      for (const [path, text] of expected) expect(actual.get(path), path).toBe(text);
    },
  );
});
