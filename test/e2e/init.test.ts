import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD, REMOTE } from './helpers.js';

describe('acctsec init', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(() => home.remove());

  it("through `acctsec serve`, init names the server, never the server's own files (issue #14)", async () => {
    const remote = new Home(true);
    try {
      const r = await remote.init();
      expect(r.stdout).toContain(remote.url);
      expect(r.stdout).not.toContain(`${remote.dir}/server`);
    } finally {
      await remote.remove();
    }
  });

  it('creates a 0600 database in a 0700 folder, a 0600 key, and signs alice in as admin', async () => {
    const r = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    // A server never names its own files (issue #14): remotely the client shows the server instead.
    if (REMOTE) {
      expect(r.stdout).toContain(home.url);
      expect(r.stdout).not.toContain(`${home.dir}/server`);
    } else expect(r.stdout).toContain(home.dbPath);
    expect(statSync(home.dbPath).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(home.dbPath)).mode & 0o777).toBe(0o700);
    expect(statSync(`${home.dbPath}.key`).mode & 0o777).toBe(0o600);

    const status = await home.run(['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const s = json(status);
    expect(s).toMatchObject({
      username: 'alice',
      email: 'alice@example.com',
      role: 'admin',
      passwordRotationDue: false,
    });
    expect(typeof s.passwordChangedAt).toBe('string');
    expect(new Date(s.passwordChangedAt as string).toISOString()).toBe(s.passwordChangedAt);

    const config = await home.run(['config', 'path']);
    expect(statSync(config.stdout.trim()).mode & 0o777).toBe(0o600);
  });

  it('works through npx in the project, as the quick start says', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    await home.ready();
    const r = await execa(
      'npx',
      ['acctsec', 'init', '--username', 'alice', '--email', 'alice@example.com', '--no-input'],
      {
        cwd: root,
        // npx installs the project into its cache as a file: dependency the first time, and that runs
        // its `prepare` script, which rebuilt dist/ under every other test running at the same time
        // (CI runs three workers). The project is built already; the cache is this home's own.
        env: {
          ...home.env,
          ACCTSEC_PASSWORD: PASSWORD,
          npm_config_ignore_scripts: 'true',
          npm_config_cache: join(home.dir, '.npm'),
        },
        extendEnv: false,
        reject: false,
      },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(json(await home.run(['status', '--json']))).toMatchObject({ username: 'alice', role: 'admin' });
  });

  it('whoami is status', async () => {
    await home.init();
    const r = await home.run(['whoami', '--json']);
    expect(json(r).username).toBe('alice');
  });

  it('refuses a second init on a database that has accounts (exit 5)', async () => {
    await home.init();
    const r = await home.run(['init', '--username', 'bob', '--email', 'bob@example.com'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('already has accounts');
  });

  it('under --no-input, a missing password exits 2 naming ACCTSEC_PASSWORD and --password-stdin', async () => {
    const r = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com', '--no-input']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('ACCTSEC_PASSWORD');
    expect(r.stderr).toContain('--password-stdin');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('under --no-input, a missing username exits 2 naming --username', async () => {
    const r = await home.run(['init', '--email', 'alice@example.com', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--username');
  });

  it('never accepts a password as a plain argument', async () => {
    for (const flag of ['--password', '--new-password']) {
      const r = await home.run(['init', '--username', 'alice', '--email', 'a@example.com', flag, PASSWORD]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`unknown option '${flag}'`);
    }
  });

  it('takes the password from stdin with --password-stdin', async () => {
    const r = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'], {
      input: `${PASSWORD}\n`,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const login = await home.run(['login', '--username', 'alice', '--password-stdin'], { input: `${PASSWORD}\n` });
    expect(login.exitCode, login.stderr).toBe(0);
  });

  it('rejects a bad username or email with exit 2 naming the value, and creates nothing', async () => {
    const bad = await home.run(['init', '--username', 'a!', '--email', 'alice@example.com'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"a!"');
    const mail = await home.run(['init', '--username', 'alice', '--email', 'not-an-address'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(mail.exitCode).toBe(2);
    expect(mail.stderr).toContain('"not-an-address"');
    const status = await home.run(['status']);
    expect(status.exitCode).toBe(3);
  });

  it('prints errors as one JSON document on stderr with --json, nothing on stdout', async () => {
    const r = await home.run(['status', '--json']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'not_signed_in' } });
  });
});
