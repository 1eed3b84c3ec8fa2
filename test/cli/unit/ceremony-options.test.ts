import type { Option } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Factory } from '../../../src/cli/factory.js';
import { applyToTree, buildProgram, commandPath, allCommands } from '../../../src/cli/program.js';

/** Every command, as the whole tree is built from them. */
const ALL = await allCommands();

// Issue #20 §6: every command that can open a browser page (a `--method` offering a security key)
// takes --no-open and --timeout; 16 commands refused them.

describe('commands that can open a browser page', () => {
  it('each takes --no-open and --timeout', () => {
    const program = buildProgram({} as Factory, async () => undefined, ALL);
    const offering: string[] = [];
    const lacking: string[] = [];
    applyToTree(program, (cmd) => {
      const options = cmd.options as Option[];
      const method = options.find((o) => o.long === '--method');
      if (!method?.argChoices?.includes('key')) return;
      offering.push(commandPath(cmd));
      const longs = new Set(options.map((o) => o.long));
      if (!longs.has('--no-open') || !longs.has('--timeout')) lacking.push(commandPath(cmd));
    });
    expect(offering.length).toBeGreaterThanOrEqual(16);
    expect(lacking).toEqual([]);
  });
});
