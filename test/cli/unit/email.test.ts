import { afterEach, describe, expect, it } from 'vitest';
import { adminOrgsListRun, adminRecipientsRun } from '../../../src/cli/commands/admin-orgs.js';
import { emailCancelRun, emailChangeRun, emailConfirmRun, emailShowRun } from '../../../src/cli/commands/email.js';
import { csvCell, csvLines } from '../../../src/cli/csv.js';
import { InvalidInput, MissingInput } from '../../../src/errors.js';
import { PASSWORD, ask, clock, createFakeFactory, initAlice, rejection, type FakeFactory } from './fake-factory.js';

// Issue #20 §3 and §5: `email show|change|confirm|cancel`, `admin orgs list`, `admin notifications recipients`.

/** The code in the newest message to `to` whose subject contains `subject`. */
function codeFor(f: FakeFactory, to: string, subject: string): string {
  const mail = f
    .outbox()
    .filter((m) => m.includes(`To: ${to}`) && m.includes(subject))
    .at(-1);
  const code = mail ? /^\s+(\d{6})\s*$/m.exec(mail)?.[1] : undefined;
  if (!code) throw new Error(`no "${subject}" code to ${to}`);
  return code;
}

const CODE_PROMPT = 'Code from the email: (Enter alone: send a new code)';
const CHANGE_PROMPT = 'Code from that email: (Enter alone: send a new code)';

afterEach(() => {
  delete process.env.ACCTSEC_PASSWORD;
});

describe('email', () => {
  it('show: an address from init is unverified until the code it was sent is entered at the prompt', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await emailShowRun({ f });
    expect(f.io.lines.at(-1)).toContain('alice@example.com  NOT VERIFIED');
    f.prompter.script(ask.text(CODE_PROMPT, () => codeFor(f, 'alice@example.com', 'confirm your address')));
    await emailConfirmRun({ f, sendCode: false });
    expect(f.io.lines.at(-1)).toBe('Your address is alice@example.com (verified).');
  });

  it('change, interactively: the password always, then the code sent to the new address', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    f.prompter.script(
      ask.password('Password:', PASSWORD),
      ask.text(CHANGE_PROMPT, () => codeFor(f, 'alice@new.example.org', 'confirm your new address')),
    );
    await emailChangeRun({ f, address: 'alice@new.example.org', identity: {} });
    expect(f.io.notes).toContain('Confirm your identity to continue.');
    expect(f.io.lines.at(-1)).toBe('Your address is now alice@new.example.org (verified).');
    expect(f.outbox().some((m) => m.includes('To: alice@example.com') && m.includes('was requested'))).toBe(true);
  });

  it('change under --no-input: two calls, the second with --code; without it, MissingInput names --code', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    process.env.ACCTSEC_PASSWORD = PASSWORD;
    await emailChangeRun({ f, address: 'alice@new.example.org', identity: {} });
    expect(f.io.lines.at(-1)).toMatch(
      /^A code is on its way to alice@new.example.org \(valid until \d\d:\d\d UTC\)\. Then: acctsec email confirm --code <code>$/,
    );
    const missing = await rejection(emailConfirmRun({ f, sendCode: false }));
    expect(missing).toBeInstanceOf(MissingInput);
    expect(missing.message).toContain('--code');
    await emailConfirmRun({
      f,
      sendCode: false,
      code: codeFor(f, 'alice@new.example.org', 'confirm your new address'),
    });
    expect(f.io.lines.at(-1)).toBe('Your address is alice@new.example.org (verified).');
  });

  it('--send-code and cancel; --json gives the documents', async () => {
    const f = createFakeFactory({ json: true, interactive: false });
    await initAlice(f);
    clock.advance(61_000);
    await emailConfirmRun({ f, sendCode: true });
    expect(f.io.document()).toMatchObject({ method: 'email', sentTo: 'alice@example.com' });
    process.env.ACCTSEC_PASSWORD = PASSWORD;
    const g = createFakeFactory({ json: true, interactive: false, shareWith: f });
    await emailChangeRun({ f: g, address: 'alice@new.example.org', identity: {} });
    const h = createFakeFactory({ json: true, interactive: false, shareWith: f });
    await emailCancelRun({ f: h });
    expect(h.io.document()).toEqual({
      address: 'alice@example.com',
      verified: false,
      verifiedAt: null,
      pending: null,
    });
  });
});

describe('admin orgs list and notifications recipients', () => {
  it('recipients needs exactly one of --newsletter and --org; CSV cells are quoted and defused', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    expect(await rejection(adminRecipientsRun({ f }))).toBeInstanceOf(InvalidInput);
    expect(await rejection(adminRecipientsRun({ f, newsletter: 'tips', org: 'acme' }))).toBeInstanceOf(InvalidInput);
    await adminRecipientsRun({ f, newsletter: 'tips', format: 'csv' });
    expect(f.io.lines.at(-1)).toBe('"username","email","format"');
    await adminOrgsListRun({ f });
    expect(f.io.lines.at(-1)).toContain('No organizations yet');
  });

  it.each([
    ['plain', '"plain"'],
    ['=1+2', `"'=1+2"`],
    ['+cmd', `"'+cmd"`],
    ['-2', `"'-2"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tx', `"'\tx"`],
    ['a "quoted", word', '"a ""quoted"", word"'],
    ['a=b', '"a=b"'],
  ])('csvCell(%j) is %s', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('csvLines: a header and rows', () => {
    expect(csvLines(['a', 'b'], [['1', '=x']])).toEqual(['"a","b"', `"1","'=x"`]);
  });
});
