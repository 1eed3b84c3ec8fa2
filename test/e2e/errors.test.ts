import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Home, json, PASSWORD, type Result } from './helpers.js';

// One error table for both sides of the wire (issue #14): an error a command prints with --json is the
// same document in local mode and through `acctsec serve`. The same script of failing commands runs
// against a local database and against a server, and each answer is compared.

const WRONG = { ACCTSEC_PASSWORD: 'not the password at all' };

/** Commands that fail, each with the state the ones before it left. */
const SCRIPT: { args: string[]; env?: Record<string, string> }[] = [
  { args: ['username', 'change', 'a!'] },
  { args: ['token', 'revoke', 'no-such-token'] },
  { args: ['token', 'create', '--name', 'x', '--scope', 'root:all'] },
  { args: ['token', 'create', '--name', 'x', '--scope', 'dns:read', '--expires', '2020-01-01'] },
  { args: ['init', '--username', 'bob', '--email', 'bob@example.com'], env: { ACCTSEC_PASSWORD: PASSWORD } },
  { args: ['mfa', 'totp', 'disable', '--code', '123456'] },
  { args: ['mfa', 'totp', 'confirm', '--code', '123456'] },
  { args: ['recovery-codes', 'view', '--code', '000000'] },
  // Remotely the server sees 127.0.0.1 itself; locally --current-ip says it.
  { args: ['ip', 'add', '8.8.8.0/24', '--current-ip', '127.0.0.1'] },
  { args: ['ip', 'add', '10.0.0.0/8'] },
  { args: ['ip', 'add', '1.2.3.4/99'] },
  { args: ['ip', 'remove', '198.51.100.0/24'] },
  { args: ['sessions', 'revoke', 'no-such-session'] },
  { args: ['recovery', 'email', 'remove', 'nobody@example.com'] },
  { args: ['notifications', 'format', 'pdf'] },
  { args: ['admin', 'users', 'show', 'nobody'] },
  { args: ['admin', 'lock', 'nobody', '--reason', 'test'] },
  { args: ['logout'] },
  { args: ['logout'] },
  { args: ['status'] },
  ...Array.from({ length: 6 }, () => ({ args: ['login', '--username', 'alice', '--no-input'], env: WRONG })),
  { args: ['login', '--username', 'nobody', '--no-input'], env: WRONG },
];

async function play(home: Home): Promise<{ command: string; exitCode: number; error: unknown }[]> {
  await home.init();
  const answers = [];
  for (const step of SCRIPT) {
    const r: Result = await home.run([...step.args, '--json', '--no-input'], { env: step.env ?? {} });
    // Throttle messages count seconds and name a time; the two runs are not at the same instant.
    const error = r.stderr.trim()
      ? (JSON.parse(
          r.stderr
            .trim()
            .split('\n')
            .pop()!
            .replace(/\d+ s\b/g, 'N s')
            .replace(/\d\d:\d\d:\d\d UTC/g, 'HH:MM:SS UTC'),
        ) as { error: { retryAfterSeconds?: number } })
      : null;
    if (error?.error.retryAfterSeconds !== undefined) error.error.retryAfterSeconds = 0;
    answers.push({ command: step.args.join(' '), exitCode: r.exitCode, error });
  }
  return answers;
}

describe('--json errors are the same in local and remote mode', () => {
  const local = new Home(false);
  const remote = new Home(true);
  afterAll(async () => {
    await Promise.all([local.remove(), remote.remove()]);
  });

  it('for every failing command of the script: same exit code, code, message and details', async () => {
    const [l, r] = await Promise.all([play(local), play(remote)]);
    // The first logout succeeds (it is there to make the next ones fail).
    l.splice(
      SCRIPT.findIndex((s) => s.args[0] === 'logout'),
      1,
    );
    r.splice(
      SCRIPT.findIndex((s) => s.args[0] === 'logout'),
      1,
    );
    expect(
      l.every((a) => a.exitCode !== 0 && a.error !== null),
      JSON.stringify(l.filter((a) => a.exitCode === 0 || a.error === null)),
    ).toBe(true);
    expect(new Set(l.map((a) => a.exitCode))).toEqual(new Set([2, 3, 4, 5, 6, 7]));
    expect(r).toEqual(l);
  });
});

describe('errors only a server gives keep their own code in --json', () => {
  const home = new Home(true);
  let reader = '';
  beforeAll(async () => {
    await home.init();
    reader = json<{ token: string }>(
      await home.run(['token', 'create', '--name', 'reader', '--scope', 'account:read', '--json']),
    ).token;
  });
  afterAll(() => home.remove());

  it('session_required and missing_scope, not a generic forbidden', async () => {
    const other = new Home();
    try {
      const env = { ACCTSEC_TOKEN: reader, ACCTSEC_REMOTE: home.url! };
      const create = await other.run(['token', 'create', '--name', 'x', '--json'], { env });
      expect(create.exitCode).toBe(7);
      expect(JSON.parse(create.stderr)).toMatchObject({ error: { code: 'session_required' } });
      const ip = await other.run(['ip', 'add', '1.1.1.1', '--json'], { env });
      expect(ip.exitCode).toBe(7);
      expect(JSON.parse(ip.stderr)).toMatchObject({
        error: { code: 'missing_scope', message: 'the access token lacks the scope ip:write' },
      });
    } finally {
      await other.remove();
    }
  });
});
