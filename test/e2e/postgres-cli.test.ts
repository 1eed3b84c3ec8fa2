import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchema, PG_TEST_URL } from '../pg.js';
import { Home, json, PASSWORD } from './helpers.js';

// The CLI on PostgreSQL (issue #22): a password in ACCTSEC_DATABASE_URL (the test cluster trusts local
// users, so any password is taken) is used, and never shown nor written to a file.

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe.runIf(PG_TEST_URL)('the CLI with ACCTSEC_DATABASE_URL', () => {
  let home: Home;
  let schema: { url: string; drop(): void };
  beforeAll(() => {
    schema = freshSchema();
    home = new Home(false);
    home.env.ACCTSEC_DATABASE_URL = schema.url.replace('postgres://postgres@', 'postgres://postgres:s3cret-pw@');
  });
  afterAll(async () => {
    await home.remove();
    schema.drop();
  });

  it('signs in and answers; the password of the URL is in no output and no file', async () => {
    const init = await home.init();
    const status = await home.run(['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(json<{ username: string }>(status).username).toBe('alice');
    const initJson = await home.run(['--profile', 'second', 'login', '--username', 'alice', '--json'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(initJson.exitCode, initJson.stderr).toBe(0);
    for (const r of [init, status, initJson]) expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    for (const file of filesUnder(home.dir)) expect(readFileSync(file, 'latin1'), file).not.toContain('s3cret-pw');
  });

  it('a URL with a password is refused in a flag and in the config (exit 2), and not echoed', async () => {
    const url = 'postgres://postgres:s3cret-pw@/acctsec';
    for (const args of [
      ['--db', url, 'status'],
      ['serve', '--database', url, '--listen', '127.0.0.1:0'],
      ['config', 'set', 'db', url],
    ]) {
      const r = await home.run(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    }
  });
});
