import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, Home } from './helpers.js';
import { Terminal } from './tmux.js';

// `acctsec --help`, `-h`, `help` and a bare `acctsec` answer from the launcher with the screen the
// build recorded (issue #18). What a user sees must be what the full CLI (dist/main.cjs) prints.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FULL = join(ROOT, 'dist/main.cjs');
const env = { PATH: process.env.PATH ?? '', NO_COLOR: '1', CI: 'true' };

const run = (file: string, args: string[]) => execa('node', [file, ...args], { reject: false, env, extendEnv: false });

describe('the root help from the launcher (issue #18)', () => {
  const homes: Home[] = [];
  afterAll(async () => {
    await Promise.all(homes.map((h) => h.remove()));
  });

  it.each([['--help'], ['-h'], ['help']])('acctsec %s prints what the full CLI prints, exit 0', async (arg) => {
    const [fast, full] = await Promise.all([run(BIN, [arg]), run(FULL, [arg])]);
    expect(full.exitCode).toBe(0);
    expect(fast.exitCode).toBe(0);
    expect(fast.stderr).toBe('');
    expect(fast.stdout).toBe(full.stdout);
    expect(fast.stdout).toMatch(/^Usage: acctsec \[options\] \[command\]/);
  });

  it('a bare acctsec prints it on stderr and exits 2 (a usage error), as the full CLI does', async () => {
    const [fast, full] = await Promise.all([run(BIN, []), run(FULL, [])]);
    expect(full.exitCode).toBe(2);
    expect(fast.exitCode).toBe(2);
    expect(fast.stdout).toBe('');
    expect(fast.stderr).toBe(full.stderr);
  });

  it.each([[60], [100], [160]])(
    'in a real terminal %i columns wide, it is laid out for that width',
    async (columns) => {
      const home = new Home();
      homes.push(home);
      const screens: string[] = [];
      // `--help --no-color` is not answered by the launcher: the full CLI's screen for the same help.
      for (const args of [['--help'], ['--help', '--no-color']]) {
        const t = await Terminal.start(home, args, { size: [columns, 200] });
        try {
          const screen = await t.waitFor('[exit 0]');
          screens.push(screen.slice(0, screen.indexOf('[exit 0]')));
        } finally {
          await t.stop();
        }
      }
      const [fast, full] = screens as [string, string];
      expect(fast).toBe(full);
      const lines = fast.split('\n');
      // Descriptions wrap at the terminal's width: no line is longer, and a wide one uses the room.
      const wrapped = lines.filter((l) => /^ {2}\S.* {2}\S/.test(l) && !/^ {2}(\d|[A-Z_]{2,} )/.test(l));
      expect(Math.max(...wrapped.map((l) => l.trimEnd().length))).toBeLessThanOrEqual(columns);
      if (columns >= 100) expect(Math.max(...wrapped.map((l) => l.trimEnd().length))).toBeGreaterThan(80);
    },
  );

  it('without the recorded screen, the launcher runs the full CLI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acctsec-root-help-'));
    try {
      for (const part of ['bin', 'dist', 'package.json'])
        cpSync(join(ROOT, part), join(dir, part), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      rmSync(join(dir, 'dist/root-help.json'));
      const [fast, full] = await Promise.all([run(join(dir, 'bin/acctsec.cjs'), ['--help']), run(FULL, ['--help'])]);
      expect(fast.exitCode).toBe(0);
      expect(fast.stdout).toBe(full.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reader that goes away early is not an error', async () => {
    const r = await execa('bash', ['--norc', '--noprofile', '-o', 'pipefail', '-c', `node ${BIN} --help | head -1`], {
      reject: false,
      env,
      extendEnv: false,
    });
    expect(r.stdout).toBe('Usage: acctsec [options] [command]');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
