import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, Home } from './helpers.js';

const HOOK = fileURLToPath(new URL('../fixtures/record-imports.mjs', import.meta.url));
const HEAVY = ['argon2', 'better-sqlite3', '@inquirer/prompts', 'qrcode', 'undici', 'conf', '@zxcvbn-ts', 'nodemailer', 'otpauth'];

describe('start-up stays lazy', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(() => home.remove());

  async function imported(args: string[]): Promise<string[]> {
    const log = join(home.dir, `imports-${args.join('_')}.txt`);
    const r = await execa('node', ['--import', HOOK, BIN, ...args], { reject: false, env: { ...home.env, RECORD_IMPORTS_TO: log }, extendEnv: false });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  }

  it.each([['--version'], ['--help'], ['login', '--help'], ['password', 'change', '--help']])('acctsec %s loads no heavy dependency', async (...args) => {
    const urls = await imported(args);
    expect(urls.some((u) => u.includes('/dist/main.js'))).toBe(true);
    for (const name of HEAVY) expect(urls.filter((u) => u.includes(`/node_modules/${name}`)), name).toEqual([]);
  });

  it('the recorder does see them when a command uses them', async () => {
    const urls = await imported(['config', 'path']);
    expect(urls.some((u) => u.includes('/node_modules/conf/'))).toBe(true);
  });
});
