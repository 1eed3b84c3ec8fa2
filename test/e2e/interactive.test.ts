import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { awayFromStepEdge, codeAt, wrongCode } from '../rfc6238.js';
import { Home, json, PASSWORD } from './helpers.js';
import { Terminal } from './tmux.js';

describe('prompts in a real terminal', () => {
  let home: Home;
  let term: Terminal | undefined;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(async () => {
    await term?.stop();
    await home.remove();
  });

  it('init asks for everything, masks the password, and asks again when the repeat differs', async () => {
    term = await Terminal.start(home, ['init']);
    await term.waitFor('Username:');
    await term.type('alice');
    await term.waitFor('Email address:');
    await term.type('alice@example.com');
    await term.waitFor('New password:');
    await term.type(PASSWORD);
    await term.waitFor('Repeat new password:');
    await term.type('something else entirely');
    await term.waitFor('the two passwords differ; try again');
    await term.waitFor('New password:', 2);
    await term.type(PASSWORD);
    await term.waitFor('Repeat new password:', 2);
    await term.type(PASSWORD);
    const screen = await term.waitFor('[exit 0]');
    expect(screen).toContain('Created alice (admin) and signed in.');
    expect(screen).toContain('*'.repeat(PASSWORD.length));
    expect(screen).not.toContain(PASSWORD);
    expect(screen).not.toContain('something else entirely');
    expect(json(await home.run(['status', '--json'])).username).toBe('alice');
  });

  it('login prompts for the password, masked', async () => {
    await home.init();
    await home.run(['logout']);
    term = await Terminal.start(home, ['login', '--username', 'alice']);
    await term.waitFor('Password:');
    await term.type(PASSWORD);
    const screen = await term.waitFor('[exit 0]');
    expect(screen).toContain('Signed in as alice');
    expect(screen).not.toContain(PASSWORD);
  });

  it('login: a mistyped password is explained and asked again, not the end of the command (issue #20 §6)', async () => {
    await home.init();
    await home.run(['logout']);
    term = await Terminal.start(home, ['login', '--username', 'alice']);
    await term.waitFor('Password:');
    await term.type('not the password at all');
    await term.waitFor('wrong username or password (try 2 of 3)');
    await term.waitFor('Password:', 2);
    await term.type(PASSWORD);
    const screen = await term.waitFor('[exit 0]');
    expect(screen).toContain('Signed in as alice');
  });

  it('Ctrl-C at a prompt cancels cleanly (exit 130, no stack trace)', async () => {
    term = await Terminal.start(home, ['init']);
    await term.waitFor('Username:');
    await term.keys('C-c');
    const screen = await term.waitFor('[exit 130]');
    expect(screen).toContain('acctsec: cancelled');
    expect(screen).not.toMatch(/\n\s+at /);
  });

  it('mfa totp enable: password, QR code and key, a wrong code asked again, recovery codes saved on request', async () => {
    await home.init();
    await awayFromStepEdge(10_000);
    term = await Terminal.start(home, ['mfa', 'totp', 'enable']);
    await term.waitFor('Password:');
    await term.type(PASSWORD);
    const shown = await term.waitFor('Code from the app:');
    expect(shown).toContain('Scan it with your');
    expect(shown).toContain('█');
    const key = [...shown.matchAll(/█ {5}((?:[A-Z2-7]{4} ?)+)$/gm)].map((m) => m[1]!.replace(/ /g, '')).join('');
    const secret = new URL(/^URI: (otpauth:\S+)$/m.exec(await term.screen(true))![1]!).searchParams.get('secret')!;
    expect(key).toBe(secret);
    await term.type(wrongCode(secret));
    await term.waitFor('wrong code; try again');
    await term.waitFor('Code from the app:', 2);
    await term.type(codeAt(secret, 0));
    await term.waitFor('Save them to a text file?');
    await term.type('y');
    await term.waitFor('File:');
    const file = join(home.dir, 'my-codes.txt');
    await term.type(file);
    const done = await term.waitFor('[exit 0]');
    expect(done).toContain('The authenticator app is active');
    expect(done.match(/^ {2}[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/gm)).toHaveLength(10);
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('recovery codes for alice');
  });

  it('login with an authenticator asks which method, then the code', async () => {
    await home.init();
    await awayFromStepEdge(10_000);
    const begin = json<{ secret: string }>(
      await home.run(['mfa', 'totp', 'enable', '--json'], { env: { ACCTSEC_PASSWORD: PASSWORD } }),
    );
    expect((await home.run(['mfa', 'totp', 'confirm', '--code', codeAt(begin.secret, -1)])).exitCode).toBe(0);
    term = await Terminal.start(home, ['login', '--username', 'alice']);
    await term.waitFor('Password:');
    await term.type(PASSWORD);
    const menu = await term.waitFor('Second factor:');
    expect(menu).toContain('Authenticator app code');
    expect(menu).toContain('Recovery code');
    await term.keys('Enter');
    await term.waitFor('Code (totp):');
    await term.type(codeAt(begin.secret, 0));
    expect(await term.waitFor('[exit 0]')).toContain('Signed in as alice');
  });
});
