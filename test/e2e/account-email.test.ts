import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestSmtp } from '../smtp.js';
import { Home, json, PASSWORD } from './helpers.js';

// Issue #20 §3 and §5 through the built CLI, with a real SMTP server receiving the codes and notices:
// the account's address (init's code, change, confirm), `admin users set-email`, organizations and the
// recipients export, read back with Python's csv module.

const ALICE = 'alice@example.com';
const NEW = 'alice@new.example.org';
const MEMBER_PASSWORD = 'a plain member passphrase';

interface AccountEmail {
  address: string;
  verified: boolean;
  pending: { address: string; requestedBy: string | null } | null;
}

describe('the account email and the notification centre, end to end', () => {
  let smtp: TestSmtp;
  let home: Home;
  beforeAll(async () => {
    smtp = await TestSmtp.start();
  });
  afterAll(() => smtp.stop());
  beforeEach(async () => {
    home = new Home();
    // Set before the first command: in remote mode the server reads it as it starts.
    const r = await home.run(['config', 'set', 'mail.smtp', smtp.url()]);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterEach(() => home.remove());

  const admin = (args: string[]) => home.run(['admin', ...args]);
  const as = (user: string, args: string[], env: Record<string, string> = {}) =>
    home.run(['--profile', user, ...args], { env });

  /** The newest message to `to` after `mark` whose subject contains `subject`, waiting for it. */
  async function mailTo(to: string, subject: string, mark: number) {
    for (let i = 0; i < 100; i++) {
      const m = smtp.messages
        .slice(mark)
        .filter((x) => x.to.includes(to) && (x.parsed.subject ?? '').includes(subject))
        .at(-1);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no "${subject}" to ${to}`);
  }
  const codeIn = (m: { parsed: { text?: string } }) => /^\s+(\d{6})\s*$/m.exec(m.parsed.text ?? '')![1]!;

  async function createAndClaim(user: string, email: string, mark: number): Promise<string> {
    const r = await admin([
      'users',
      'create',
      user,
      '--email',
      email,
      '--print-token',
      '--reason',
      'new hire',
      '--yes',
      '--json',
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const claim = await home.run(
      ['recover', '--username', user, '--token', json<{ resetToken: string }>(r).resetToken],
      { env: { ACCTSEC_NEW_PASSWORD: MEMBER_PASSWORD } },
    );
    expect(claim.exitCode, claim.stderr).toBe(0);
    const login = await as(user, ['login', '--username', user], { ACCTSEC_PASSWORD: MEMBER_PASSWORD });
    expect(login.exitCode, login.stderr).toBe(0);
    // `admin users create` sent the owner a code for the address.
    return codeIn(await mailTo(email, 'confirm your address', mark));
  }

  it('init sends a code; a change needs identity and the code sent to the new address; the old address is told', async () => {
    const mark = smtp.messages.length;
    const init = await home.init();
    expect(init.stderr).toContain('acctsec email confirm');
    const first = codeIn(await mailTo(ALICE, 'confirm your address', mark));
    expect(json<AccountEmail>(await home.run(['email', 'show', '--json']))).toMatchObject({
      address: ALICE,
      verified: false,
    });
    const status = await home.run(['status']);
    expect(status.stderr).toContain('is not verified');
    const ok = await home.run(['email', 'confirm', '--code', first, '--json']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(json<AccountEmail>(ok)).toMatchObject({ address: ALICE, verified: true });

    // A session alone does not change the address, even just after sign-in.
    const noProof = await home.run(['email', 'change', NEW, '--no-input']);
    expect(noProof.exitCode).toBe(2);
    expect(noProof.stderr).toContain('ACCTSEC_PASSWORD');
    const bad = await home.run(['email', 'change', 'not-an-address', '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('invalid email address "not-an-address"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const m2 = smtp.messages.length;
    const change = await home.run(['email', 'change', NEW, '--no-input'], { env: { ACCTSEC_PASSWORD: PASSWORD } });
    expect(change.exitCode, change.stderr).toBe(0);
    expect(change.stdout).toContain(`A code is on its way to ${NEW}`);
    const code = codeIn(await mailTo(NEW, 'confirm your new address', m2));
    const warning = await mailTo(ALICE, 'was requested', m2);
    expect(warning.parsed.text).toContain('acctsec email cancel');
    expect(json<AccountEmail>(await home.run(['email', 'show', '--json']))).toMatchObject({
      address: ALICE,
      pending: { address: NEW, requestedBy: null },
    });
    const wrong = await home.run(['email', 'confirm', '--code', code === '000000' ? '111111' : '000000']);
    expect(wrong.exitCode).toBe(3);
    const done = await home.run(['email', 'confirm', '--code', code]);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toContain(`Your address is ${NEW} (verified).`);
    const changed = await mailTo(ALICE, 'was changed', m2);
    expect(changed.to.sort()).toEqual([ALICE, NEW].sort());
    expect(json<{ email: string }>(await home.run(['status', '--json'])).email).toBe(NEW);
    // The code was single use.
    expect((await home.run(['email', 'confirm', '--code', code])).exitCode).toBe(5);
  });

  it('support sets an address (the owner confirms it); organizations; recipients as CSV a real parser reads', async () => {
    let mark = smtp.messages.length;
    await home.init();
    expect(
      (await home.run(['email', 'confirm', '--code', codeIn(await mailTo(ALICE, 'confirm', mark))])).exitCode,
    ).toBe(0);
    mark = smtp.messages.length;
    const umaCode = await createAndClaim('uma', 'uma@example.com', mark);
    // An address a spreadsheet would run as a formula, and one with a quote in it.
    const bobCode = await createAndClaim('bob', '=HYPERLINK.evil@example.com', mark);
    expect((await as('uma', ['email', 'confirm', '--code', umaCode])).exitCode).toBe(0);
    expect((await as('bob', ['email', 'confirm', '--code', bobCode])).exitCode).toBe(0);
    for (const user of ['uma', 'bob'])
      expect((await as(user, ['notifications', 'subscribe', 'tips'])).exitCode).toBe(0);
    expect((await as('bob', ['notifications', 'format', 'text'])).exitCode).toBe(0);

    // Organizations: admin only to create; members only for the notices setting.
    expect((await admin(['orgs', 'create', 'acme', '--yes'])).exitCode).toBe(2);
    const created = await admin(['orgs', 'create', 'acme', '--reason', 'a customer', '--yes']);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await as('uma', ['admin', 'orgs', 'create', 'evil', '--reason', 'mine', '--yes'])).exitCode).toBe(7);
    expect((await admin(['orgs', 'add-member', 'acme', 'uma', '--reason', 'works there', '--yes'])).exitCode).toBe(0);
    expect((await admin(['orgs', 'add-member', 'acme', 'bob', '--reason', 'works there', '--yes'])).exitCode).toBe(0);
    expect((await admin(['orgs', 'remove-member', 'acme', 'bob', '--reason', 'left', '--yes'])).exitCode).toBe(0);
    const orgs = json<{ name: string; members: string[] }[]>(await admin(['orgs', 'list', '--json']));
    expect(orgs.map((o) => [o.name, o.members])).toEqual([['acme', ['uma']]]);
    const notMember = await as('bob', ['notifications', 'org', 'acme', 'off']);
    expect(notMember.exitCode).toBe(4);
    expect(notMember.stderr).toContain('not a member of an organization named "acme"');
    expect((await as('uma', ['notifications', 'org', 'acme', 'on'])).exitCode).toBe(0);

    const csv = await admin(['notifications', 'recipients', '--newsletter', 'tips', '--format', 'csv']);
    expect(csv.exitCode, csv.stderr).toBe(0);
    const parsed = JSON.parse(
      execFileSync('python3', ['-c', 'import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))'], {
        input: csv.stdout,
        encoding: 'utf8',
      }),
    ) as string[][];
    expect(parsed).toEqual([
      ['username', 'email', 'format'],
      ['bob', "'=HYPERLINK.evil@example.com", 'text'],
      ['uma', 'uma@example.com', 'html'],
    ]);
    const org = json<{ organization: string; recipients: { username: string }[] }>(
      await admin(['notifications', 'recipients', '--org', 'acme', '--format', 'json']),
    );
    expect(org).toMatchObject({ organization: 'acme', recipients: [{ username: 'uma', format: 'html' }] });
    expect((await admin(['notifications', 'recipients'])).exitCode).toBe(2);
    expect((await as('uma', ['admin', 'notifications', 'recipients', '--org', 'acme'])).exitCode).toBe(7);

    // Support changes uma's address: the code goes to the new address, never to the agent.
    mark = smtp.messages.length;
    const set = await admin(['users', 'set-email', 'uma', 'uma@new.example.org', '--reason', 'ticket 7', '--yes']);
    expect(set.exitCode, set.stderr).toBe(0);
    const code = codeIn(await mailTo('uma@new.example.org', 'confirm your new address', mark));
    expect(set.stdout + set.stderr).not.toContain(code);
    expect((await mailTo('uma@example.com', 'requested by support staff (alice)', mark)).to).toEqual([
      'uma@example.com',
    ]);
    const audit = json<{ action: string; target: string }[]>(await admin(['audit', '--user', 'uma', '--json']));
    expect(audit[0]).toMatchObject({ action: 'users.set-email', target: 'uma' });
    const confirmed = await as('uma', ['email', 'confirm', '--code', code, '--json']);
    expect(confirmed.exitCode, confirmed.stderr).toBe(0);
    expect(json<AccountEmail>(confirmed)).toMatchObject({ address: 'uma@new.example.org', verified: true });
  });
});
