#!/usr/bin/env node
// Launcher: Node's compile cache (Node >= 22.1) makes repeated start-ups cheaper; Node 20 simply lacks it.
import { readFileSync } from 'node:fs';
import module from 'node:module';

// `acctsec --version` alone answers without loading the CLI (issue #18): scripts ask it often.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // A reader that went away (`| head`) is not an error, as in the full CLI (src/cli/main.ts).
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  module.enableCompileCache?.();
  await import('../dist/main.js');
}
