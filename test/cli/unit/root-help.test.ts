import { Help } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Factory } from '../../../src/cli/factory.js';
import { boxWrap, formatItem } from '../../../src/cli/help-layout.js';
import { buildProgram, allCommands } from '../../../src/cli/program.js';
import { recordRootHelp, renderHelp } from '../../../src/cli/root-help.js';

/** Every command, as the whole tree is built from them. */
const ALL = await allCommands();

// The launcher prints the root help from a screen recorded at build time (issue #18). It must be the
// very text the full CLI prints, at every terminal width, and the layout must be commander's own.

const noFactory = {} as Factory;
const noop = async () => undefined;

/** What the full CLI prints for `acctsec --help` on a terminal `width` columns wide (undefined: not a terminal). */
function fullHelp(width: number | undefined): string {
  const program = buildProgram(noFactory, noop, ALL);
  let text = '';
  program.configureOutput({ writeOut: (s) => (text += s), getOutHelpWidth: () => width as number });
  program.outputHelp();
  return text;
}

describe('the recorded root help (issue #18)', () => {
  const recorded = recordRootHelp(buildProgram(noFactory, noop, ALL));

  it.each([undefined, 20, 39, 40, 41, 60, 79, 80, 81, 100, 132, 200, 500])(
    'is what the full CLI prints at width %s, character for character',
    (width) => {
      expect(renderHelp(recorded, width ?? 80)).toBe(fullHelp(width));
    },
  );

  it('keeps the width-dependent parts as data: every command, option and the description', () => {
    const items = recorded.filter((p) => typeof p !== 'string' && 'item' in p);
    const program = buildProgram(noFactory, noop, ALL);
    // The visible options (--help among them) and commands (help among them), nothing else.
    const help = program.createHelp();
    expect(items).toHaveLength(help.visibleOptions(program).length + help.visibleCommands(program).length);
    expect(recorded.filter((p) => typeof p !== 'string' && 'wrap' in p)).toHaveLength(1);
    expect(renderHelp(recorded, 80)).toContain('Exit codes:');
    expect(renderHelp(recorded, 80)).toContain('Environment:');
  });

  it('lines the environment variables up after the longest name (ACCTSEC_BOOTSTRAP_SECRET)', () => {
    const text = renderHelp(recorded, 80);
    expect(text).toMatch(/\n {2}ACCTSEC_BOOTSTRAP_SECRET {2}the one-time secret/);
    expect(text).toMatch(/\n {2}CI {24}when set, never prompt/);
  });
});

describe("help-layout.ts is commander 14's layout", () => {
  const words = fc.array(fc.stringMatching(/^[a-zA-Z`(),.-]{1,14}$/), { maxLength: 30 });
  const text = fc.tuple(words, fc.constantFrom(' ', '  ', '\n', '\n  ')).map(([w, sep]) => w.join(sep));

  it('wraps a description as Help.boxWrap does', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 160 }), (str, width) => {
        const reference = new Help();
        expect(boxWrap(str, width)).toBe(reference.boxWrap(str, width));
      }),
      { numRuns: 500 },
    );
  });

  it('lays out an item as Help.formatItem does', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z<>[\]|-]{0,30}$/),
        fc.integer({ min: 0, max: 40 }),
        text,
        fc.integer({ min: 0, max: 200 }),
        (term, extra, description, width) => {
          const reference = new Help();
          reference.helpWidth = width;
          const termWidth = term.length + extra;
          expect(formatItem(term, termWidth, description, width)).toBe(
            reference.formatItem(term, termWidth, description, reference),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
