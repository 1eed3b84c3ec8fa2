import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describeTree } from './command-tree.js';
import { bashScript, fishScript, zshScript } from './completion-scripts.js';
import { EXAMPLES } from './examples.js';
import type { Factory } from './factory.js';
import { manPage } from './manpage.js';
import { allCommands, buildProgram, ENVIRONMENT, EXIT_CODES } from './program.js';
import { recordRootHelp } from './root-help.js';

// `npm run generate` writes the completion scripts and the man page from the command tree;
// `npm run generate:check` (also a test) exits 1 when a committed file differs from what it would write.
// `--root-help` (run by scripts/build.js) records the root help screen in dist/root-help.json for the
// launcher (root-help.ts).

declare const ACCTSEC_VERSION: string;
/** The man page's date: the release it documents, not the day it was generated (keeps the check stable). */
const RELEASE_DATE = '2026-11-23';

const root = new URL('../', import.meta.url);
if (process.argv.includes('--root-help')) {
  const recorded = recordRootHelp(buildProgram({} as Factory, async () => undefined, await allCommands()));
  writeFileSync(new URL('./root-help.json', import.meta.url), JSON.stringify(recorded));
  process.exit(0);
}
const program = buildProgram({} as Factory, async () => undefined, await allCommands());
const tree = describeTree(program);
const files: [string, string][] = [
  ['completions/acctsec.bash', bashScript(tree)],
  ['completions/_acctsec', zshScript(tree)],
  ['completions/acctsec.fish', fishScript(tree)],
  [
    'man/acctsec.1',
    manPage({
      tree,
      version: ACCTSEC_VERSION,
      date: RELEASE_DATE,
      exitCodes: EXIT_CODES,
      environment: ENVIRONMENT,
      examples: EXAMPLES,
    }),
  ],
];

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, text] of files) {
  const url = new URL(path, root);
  if (check) {
    let current = '';
    try {
      current = readFileSync(url, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) stale.push(path);
  } else {
    mkdirSync(new URL('.', url), { recursive: true });
    writeFileSync(url, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
if (stale.length) {
  process.stderr.write(`out of date (run \`npm run generate\`): ${stale.join(', ')}\n`);
  process.exitCode = 1;
}
