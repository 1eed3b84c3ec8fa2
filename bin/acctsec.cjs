#!/usr/bin/env node
// The launcher (issue #18: every command starts fast). CommonJS, like the bundle it loads, so that Node's
// ES module loader is never started for our own code.
// - `acctsec --version` answers from here, without the CLI: scripts ask it often;
// - the root help (`--help`, `-h`, `help`, a bare `acctsec`) from the screen the build recorded
//   (src/cli/root-help.ts), the full CLI when the recording is missing;
// - anything else runs the CLI, dist/main.cjs, compiled with the V8 code cache the build wrote beside it
//   (dist/main.cjs.cache, see scripts/build.js): V8 then parses and compiles nothing it finds there. A
//   cache V8 refuses (another Node version, other V8 flags) costs the read only: the file is compiled as
//   if there were none, and `ACCTSEC_DEBUG=1` says so.
'use strict';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // A reader that went away (`| head`) is not an error, as in the full CLI (src/cli/main.ts).
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const { readFileSync } = require('node:fs');
  const { version } = JSON.parse(readFileSync(`${__dirname}/../package.json`, 'utf8'));
  process.stdout.write(`${version}\n`);
} else if (args.length === 0 || (args.length === 1 && ['--help', '-h', 'help'].includes(args[0]))) {
  let code;
  try {
    code = require('../dist/root-help.cjs').printRootHelp(args.length === 0);
  } catch {
    runCli();
  }
  if (code !== undefined) process.exitCode = code;
} else {
  runCli();
}

function runCli() {
  const { readFileSync, renameSync, writeFileSync } = require('node:fs');
  const { dirname, join } = require('node:path');
  const { Script } = require('node:vm');
  const Module = require('node:module');
  const file = join(__dirname, '../dist/main.cjs');
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache: compiled from the source alone.
  }
  // Node's CommonJS wrapper, plus the launcher's import(): one from a vm.Script would need an
  // experimental loader option (the bundle's banner picks it up, see scripts/build.js).
  const wrapped = `(function (exports, require, module, __filename, __dirname, __acctsecLauncherImport) {${readFileSync(file, 'utf8')}\n})`;
  const script = new Script(wrapped, { filename: file, cachedData });
  if (cachedData && script.cachedDataRejected && process.env.ACCTSEC_DEBUG === '1')
    process.stderr.write(
      `acctsec: V8 refused the code cache ${cacheFile} (made by another Node version?): start-up is slower, nothing else; reinstall acctsec, or run \`npm run build\` in a checkout\n`,
    );
  if (process.env.ACCTSEC_WRITE_CODE_CACHE === '1')
    // The build's run (scripts/build.js): the cache holds what this run compiled, so it is taken at exit.
    process.on('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch (err) {
        process.stderr.write(`acctsec: could not write the code cache ${cacheFile}: ${err.message}\n`);
      }
    });
  const cli = new Module(file, module);
  cli.filename = file;
  cli.paths = Module._nodeModulePaths(dirname(file));
  // In require's cache as if required (what tools that list the loaded modules look at).
  Module._cache[file] = cli;
  script.runInThisContext()(cli.exports, Module.createRequire(file), cli, file, dirname(file), (id) => import(id));
  cli.loaded = true;
}
