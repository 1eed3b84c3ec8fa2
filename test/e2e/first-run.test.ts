import { afterEach, describe, expect, it } from 'vitest';
import { startServe, type Served } from '../server/serve.js';
import { Home, PASSWORD } from './helpers.js';

// Issue #20 §6: no dead end on a first run or after a remote sign-in. Without a database the tool says
// to run init, and init says what to do next; a profile remembers the server it signed in to with
// --remote, and the hint after the session ends names it; policy and mail are refused on a profile
// that talks to a server, where setting them would print success and change nothing.

const ALICE = ['--username', 'alice', '--email', 'alice@example.com'];

describe('first run and remote profiles (issue #20 §6)', () => {
  let home: Home;
  let served: Served | undefined;
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await home.remove();
  });

  it('without a database, status and token list say to run init; init ends with the next steps', async () => {
    home = new Home(false);
    for (const args of [['status'], ['token', 'list']]) {
      const r = await home.run(args);
      expect(r.exitCode, args.join(' ')).toBe(3);
      expect(r.stderr).toContain(`there is no acctsec database at ${home.dbPath} yet: run \`acctsec init\``);
    }
    const init = await home.run(['init', ...ALICE], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('Next steps:');
    expect(init.stdout).toContain('acctsec mfa totp enable');
    expect(init.stdout).toContain('recovery codes');
    // With a database, the ordinary hint: sign in.
    await home.run(['logout']);
    const out = await home.run(['status']);
    expect(out.exitCode).toBe(3);
    expect(out.stderr).toContain('run `acctsec login`');
  });

  it('--remote URL login: the profile remembers the server; the hint after sign-out names it; server settings refused', async () => {
    home = new Home(false);
    served = await startServe(home);
    const url = served.url;
    delete home.env.ACCTSEC_REMOTE; // only the flag names the server
    const init = await home.run(['--remote', url, 'init', ...ALICE], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stderr).toContain(`This profile now uses the server ${url}`);
    // A second profile signs in through the flag too; both then work without it.
    const login = await home.run(['--profile', 'ops', '--remote', url, 'login', '--username', 'alice'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(login.exitCode, login.stderr).toBe(0);
    for (const profile of ['default', 'ops']) {
      const list = await home.run(['--profile', profile, 'token', 'list']);
      expect(list.exitCode, `${profile}: ${list.stderr}`).toBe(0);
    }
    const policy = await home.run(['config', 'set', 'policy.passwordMinLength', '14']);
    expect(policy.exitCode).toBe(2);
    expect(policy.stderr).toContain('policy.passwordMinLength is a setting of the server');
    const mail = await home.run(['config', 'set', 'mail.from', 'ops@example.com']);
    expect(mail.exitCode).toBe(2);
    expect((await home.run(['config', 'get', 'policy.passwordMinLength'])).stdout.trim()).not.toBe('14');
    expect((await home.run(['--profile', 'ops', 'logout'])).exitCode).toBe(0);
    const after = await home.run(['--profile', 'ops', 'status']);
    expect(after.exitCode).toBe(3);
    expect(after.stderr).toContain(`run \`acctsec --profile ops login\` (server ${url})`);
  });
});
