#!/usr/bin/env node
// Launcher: Node's compile cache (Node >= 22.1) makes repeated start-ups cheaper; Node 20 simply lacks it.
// node:fs is taken through `require`: importing it would make Node 20 build its ESM facade, which loads
// the stream modules (a few ms on every run; scripts/build.js does the same for the bundle).
import module from 'node:module';

// `acctsec --version` alone answers without loading the CLI (issue #18): scripts ask it often.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // A reader that went away (`| head`) is not an error, as in the full CLI (src/cli/main.ts).
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const { readFileSync } = module.createRequire(import.meta.url)('node:fs');
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${version}\n`);
} else if (args.length === 0 || (args.length === 1 && ['--help', '-h', 'help'].includes(args[0]))) {
  // The root help too, from the screen the build recorded (src/cli/root-help.ts); the full CLI when
  // the recording is missing.
  let code;
  try {
    const { printRootHelp } = await import('../dist/root-help.js');
    code = printRootHelp(args.length === 0);
  } catch {
    module.enableCompileCache?.();
    await import('../dist/main.js');
  }
  if (code !== undefined) process.exitCode = code;
} else {
  module.enableCompileCache?.();
  await import('../dist/main.js');
}
