import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
    home.remove();
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

  it('Ctrl-C at a prompt cancels cleanly (exit 130, no stack trace)', async () => {
    term = await Terminal.start(home, ['init']);
    await term.waitFor('Username:');
    await term.keys('C-c');
    const screen = await term.waitFor('[exit 130]');
    expect(screen).toContain('acctsec: cancelled');
    expect(screen).not.toMatch(/\n\s+at /);
  });
});
