import {
  chmodSync,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awayFromStepEdge, codeAt } from '../rfc6238.js';
import { Home, json, PASSWORD } from './helpers.js';

// Issue #19 §2: the configuration and key files. A damaged config file has a way out; parallel writers
// lose no profile; files open to other users are refused (the key) or reported (the config); a key
// problem is never a failed code attempt, and init next to a database never writes a wrong key.

const noTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('the config file and the key file (issue #19)', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home(false);
  });
  afterEach(() => home.remove());

  const configFile = () => join(home.dir, '.config/acctsec/config.json');
  const keyFile = () => `${home.dbPath}.key`;

  it('a damaged config file: commands name the file and the line (exit 2); `config path` still works; `config reset --all` moves it aside', async () => {
    await home.init();
    writeFileSync(configFile(), '{\n  "profiles": {\n    "default": {,\n  }\n}\n', { mode: 0o600 });
    for (const args of [['config', 'list'], ['login', '--username', 'alice', '--no-input'], ['status']]) {
      const r = await home.run(args, { env: { ACCTSEC_PASSWORD: PASSWORD } });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`the config file ${configFile()} is not valid JSON (line 3, column 17`);
      expect(r.stderr).toContain('acctsec config reset --all');
      noTrace(r.stderr);
    }
    const path = await home.run(['config', 'path']);
    expect(path.exitCode).toBe(0);
    expect(path.stdout.trim()).toBe(configFile());
    const reset = await home.run(['config', 'reset', '--all', '--json']);
    expect(reset.exitCode, reset.stderr).toBe(0);
    const { movedTo } = json<{ movedTo: string }>(reset);
    expect(readFileSync(movedTo, 'utf8')).toContain('"default": {,');
    expect(statSync(movedTo).mode & 0o777).toBe(0o600);
    expect((await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode).toBe(
      0,
    );
    expect((await home.run(['status'])).exitCode).toBe(0);
  });

  it('`config reset --all` of a damaged file names the sessions in it, forgotten not ended, and the command that ends each', async () => {
    await home.init();
    const ops = await home.run(['--profile', 'ops', 'login', '--username', 'alice'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(ops.exitCode, ops.stderr).toBe(0);
    const text = readFileSync(configFile(), 'utf8');
    const ids = [...text.matchAll(/"sessionId": "([^"]+)"/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(2);
    writeFileSync(configFile(), text.replace(/\}\s*$/, '},'), { mode: 0o600 }); // no longer JSON
    const reset = await home.run(['config', 'reset', '--all']);
    expect(reset.exitCode, reset.stderr).toBe(0);
    for (const id of ids) expect(reset.stderr).toContain(`acctsec sessions revoke ${id}`);
    expect(reset.stderr).toContain('of alice at ');
    expect(reset.stdout + reset.stderr).not.toMatch(/acs_ses_|"token"/);
    noTrace(reset.stderr);
    // The way back the warning names: sign in again, revoke the stranded sessions.
    await home.run(['login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    for (const id of ids)
      expect(
        (await home.run(['sessions', 'revoke', id, '--no-input'], { env: { ACCTSEC_PASSWORD: PASSWORD } })).exitCode,
      ).toBe(0);
    const left = json<{ id: string }[]>(await home.run(['sessions', 'list', '--json']));
    expect(left).toHaveLength(1);
  });

  it('`config reset` of a signed-in profile ends its session on the server first', async () => {
    await home.init();
    await home.run(['--profile', 'ops', 'login', '--username', 'alice'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    const before = json<{ id: string }[]>(await home.run(['sessions', 'list', '--json']));
    expect(before).toHaveLength(2);
    const reset = await home.run(['--profile', 'ops', 'config', 'reset', '--json']);
    expect(reset.exitCode, reset.stderr).toBe(0);
    expect(json<{ sessionsNotEnded: unknown[] }>(reset).sessionsNotEnded).toEqual([]);
    expect(json<{ id: string }[]>(await home.run(['sessions', 'list', '--json']))).toHaveLength(1);
  });

  it('a file in the way of the lock, and a config.json that is a symbolic link (issue #19 review)', async () => {
    await home.init();
    writeFileSync(`${configFile()}.lock`, 'not a lock\n');
    const blocked = await home.run(['config', 'set', 'policy.passwordMinLength', '14']);
    expect(blocked.exitCode).toBe(8);
    expect(blocked.stderr).toContain(`${configFile()}.lock is in the way`);
    expect(blocked.stderr).not.toContain('ENOTDIR');
    noTrace(blocked.stderr);
    rmSync(`${configFile()}.lock`);
    // reset --all moves a link aside, and neither reads its target for a mode change nor changes it.
    const target = join(home.dir, 'elsewhere.json');
    writeFileSync(target, '{"profiles":{}}\n', { mode: 0o644 });
    chmodSync(target, 0o644);
    rmSync(configFile());
    symlinkSync(target, configFile());
    const reset = await home.run(['config', 'reset', '--all', '--json']);
    expect(reset.exitCode, reset.stderr).toBe(0);
    expect(json<{ link: string }>(reset).link).toBe(target);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(readFileSync(target, 'utf8')).toBe('{"profiles":{}}\n');
    expect(existsSync(configFile())).toBe(false);
  });

  it('`config reset` forgets one profile and keeps the others', async () => {
    await home.init();
    expect((await home.run(['--profile', 'ops', 'config', 'set', 'policy.passwordMinLength', '14'])).exitCode).toBe(0);
    expect((await home.run(['--profile', 'ops', 'config', 'reset'])).exitCode).toBe(0);
    const file = JSON.parse(readFileSync(configFile(), 'utf8')) as { profiles: Record<string, unknown> };
    expect(Object.keys(file.profiles)).toEqual(['default']);
    expect((await home.run(['status'])).exitCode).toBe(0);
  });

  // 20 logins (the case), and 50 writers of `config set`: the same write path (read the file,
  // change one profile, write it whole), without the sign-in limit of one account (issue #15).
  it.each([
    [20, 'login'],
    [50, 'config set'],
  ])(
    '%i parallel %s runs into one config folder, each in its own profile: none is lost',
    async (n, what) => {
      await home.init();
      const names = Array.from({ length: n }, (_, i) => `p${String(i).padStart(2, '0')}`);
      const run = async (p: string) => {
        if (what === 'config set') return home.run(['--profile', p, 'config', 'set', 'policy.passwordMinLength', '14']);
        // Sign-ins of one account at once are limited (exit 6, "try again in a few seconds"): a login
        // retries then, as a script would. What is checked is that no answered login is lost.
        for (;;) {
          const r = await home.run(['--profile', p, 'login', '--username', 'alice', '--no-input'], {
            env: { ACCTSEC_PASSWORD: PASSWORD },
          });
          if (r.exitCode !== 6) return r;
          await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 500));
        }
      };
      const results = await Promise.all(names.map(run));
      for (const [i, r] of results.entries()) expect(r.exitCode, `${names[i]}: ${r.stderr}`).toBe(0);
      const file = JSON.parse(readFileSync(configFile(), 'utf8')) as {
        profiles: Record<string, { session?: { token: string }; settings?: Record<string, unknown> }>;
      };
      const kept = names.filter((p) =>
        what === 'login'
          ? file.profiles[p]?.session?.token
          : file.profiles[p]?.settings?.['policy.passwordMinLength'] === 14,
      );
      expect(kept).toHaveLength(n);
      expect(readdirSync(join(home.dir, '.config/acctsec')).filter((f) => f.endsWith('.lock'))).toEqual([]);
    },
    120_000,
  );

  it('a key file open to other users is refused (exit 8, naming chmod 600); a config file so is reported', async () => {
    await home.init();
    chmodSync(keyFile(), 0o644);
    const r = await home.run(['mfa', 'totp', 'enable', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(r.exitCode, r.stderr).toBe(8);
    expect(r.stderr).toContain(
      `the encryption key file ${keyFile()} is open to other users (mode 0644): run chmod 600`,
    );
    noTrace(r.stderr);
    chmodSync(keyFile(), 0o600);
    chmodSync(configFile(), 0o644);
    const s = await home.run(['status']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stderr).toContain(`warning: the config file ${configFile()} is readable by other users (mode 0644)`);
  });

  it('while the key file is missing, app codes are refused with exit 8 and not counted: with the key back, a right code signs in', async () => {
    await home.init();
    await awayFromStepEdge(8000);
    const { secret } = json<{ secret: string }>(
      await home.run(['mfa', 'totp', 'enable', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
    );
    expect((await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(secret, 0)])).exitCode).toBe(0);
    const aside = `${keyFile()}.aside`;
    renameSync(keyFile(), aside);
    for (let i = 0; i < 7; i++) {
      const r = await home.run(['login', '--username', 'alice', '--code', '000000', '--no-input'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(r.exitCode, r.stderr).toBe(8);
      expect(r.stderr).toContain(`the encryption key file ${keyFile()} is missing`);
    }
    renameSync(aside, keyFile());
    await awayFromStepEdge(4000);
    // The next step's code: the one of this step was used by the confirmation.
    const ok = await home.run(['login', '--username', 'alice', '--code', codeAt(secret, 1), '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(ok.exitCode, ok.stderr).toBe(0);
  });

  it('init on an existing database whose key file is missing refuses (exit 5) and writes no key file', async () => {
    await home.init();
    renameSync(keyFile(), `${keyFile()}.aside`);
    const r = await home.run(['init', '--username', 'bob', '--email', 'bob@example.com', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(r.exitCode, r.stderr).toBe(5);
    expect(existsSync(keyFile())).toBe(false);
  });
});
