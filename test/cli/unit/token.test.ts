import { describe, expect, it } from 'vitest';
import { tokenCreateRun, tokenListRun, tokenRevokeRun, tokenVerifyRun } from '../../../src/cli/commands/token.js';
import { AuthFailed, Conflict, InvalidInput, MissingInput, NotFound } from '../../../src/errors.js';
import type { ActiveIntrospection, TokenCreated, TokenView } from '../../../src/views.js';
import {
  MINUTE,
  PASSWORD,
  ask,
  clock,
  createFakeFactory,
  enableTotp,
  initAlice,
  rejection,
  stubStdin,
  totpNow,
  type FakeFactory,
} from './fake-factory.js';

const TOKEN = /^acs_[A-Za-z0-9]+$/;

async function create(
  f: FakeFactory,
  name: string,
  extra: Partial<{ scopes: string[]; resources: string[]; expires: string }> = {},
) {
  await tokenCreateRun({
    f,
    name,
    scopes: extra.scopes ?? ['account:read'],
    resources: extra.resources ?? [],
    expires: extra.expires ?? '30d',
    identity: {},
  });
}

describe('token create', () => {
  it('inside the identity window: no prompt; the secret is printed once, and it is active', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await tokenCreateRun({
      f,
      name: 'ci',
      scopes: ['account:read', 'dns:write'],
      resources: ['domain:example.com'],
      expires: '30d',
      identity: {},
    });
    const [first, second, third] = f.io.lines;
    expect(f.io.lines).toHaveLength(3);
    const id =
      /^Token "ci" \((\w+)\), scopes account:read, dns:write, resources domain:example.com, expires 2026-12-23 10:00\.$/.exec(
        first!,
      )?.[1];
    expect(id).toBeDefined();
    expect(second).toBe('Copy it now: it is shown only this once.');
    const secret = third!.replace(/^ {2}/, '');
    expect(third).toBe(`  ${secret}`);
    expect(secret).toMatch(TOKEN);
    const check = await (await f.backendWith(undefined)).verifyToken(secret);
    expect(check).toMatchObject({
      active: true,
      account: 'alice',
      scopes: ['account:read', 'dns:write'],
      resources: ['domain:example.com'],
    });
    expect(f.prompter.asked).toEqual([]);
    expect(f.io.warnings).toEqual([]);
  });

  it('--json: the TokenCreated document, secret included', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci', { expires: '2026-12-01' });
    const t = f.io.document<TokenCreated>();
    expect(t).toEqual({
      id: t.id,
      name: 'ci',
      token: t.token,
      scopes: ['account:read'],
      resources: [],
      expiresAt: '2026-12-02T00:00:00.000Z',
    });
    expect(t.token).toMatch(TOKEN);
    expect(t.id).toMatch(/^\w{6,}$/);
  });

  it('past the 10-minute window: asks for the password, once, and goes on', async () => {
    const f = createFakeFactory({ script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await create(f, 'ci');
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(f.prompter.asked).toEqual([
      { kind: 'password', message: 'Password:', supply: 'ACCTSEC_PASSWORD or --password-stdin' },
    ]);
    expect(f.io.lines[0]).toMatch(/^Token "ci" \(\w+\), scopes account:read, expires 2026-12-23 10:11\.$/);
  });

  it('past the window with the app on: offers password or app code, and takes the code', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { secret } = await enableTotp(f);
    clock.advance(11 * MINUTE);
    f.prompter.script(
      ask.select('Confirm with:', 'totp'),
      ask.text('Code (totp):', () => totpNow(secret)),
    );
    await create(f, 'ci');
    expect(f.prompter.asked[0]).toEqual({
      kind: 'select',
      message: 'Confirm with:',
      supply: 'ACCTSEC_PASSWORD or --password-stdin, or --method M --code C (methods: totp)',
      choices: [
        { value: 'password', name: 'Password' },
        { value: 'totp', name: 'Code (totp)' },
      ],
    });
    expect(f.io.lines[1]).toBe('Copy it now: it is shown only this once.');
  });

  it('a wrong password at the prompt is asked again (issue #20 §6); three wrong ones: AuthFailed, no token', async () => {
    const wrong = ask.password('Password:', 'not the password at all');
    const f = createFakeFactory({ script: [wrong, wrong, wrong] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    const err = await rejection(create(f, 'ci'));
    expect(err).toBeInstanceOf(AuthFailed);
    expect(err.message).toBe('wrong password');
    expect(f.io.warnings).toEqual(['wrong password (try 2 of 3)', 'wrong password (try 3 of 3)']);
    expect(f.io.lines).toEqual([]);
    expect(await (await f.backend()).listTokens()).toEqual([]);
  });

  it('a wrong password, then the right one: the token is created', async () => {
    const f = createFakeFactory({
      script: [ask.password('Password:', 'not the password at all'), ask.password('Password:', PASSWORD)],
    });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await create(f, 'ci');
    expect((await (await f.backend()).listTokens()).map((t) => t.name)).toEqual(['ci']);
  });

  it('without --name the name is asked; a name already taken is explained and asked again', async () => {
    const f = createFakeFactory({
      script: [ask.text('Token name:', 'ci'), ask.text('Token name:', 'ci'), ask.text('Token name:', 'deploy')],
    });
    await initAlice(f);
    await tokenCreateRun({ f, scopes: ['dns:read'], resources: [], expires: '30d', identity: {} });
    await tokenCreateRun({ f, scopes: ['dns:read'], resources: [], expires: '30d', identity: {} });
    expect((await (await f.backend()).listTokens()).map((t) => t.name).sort()).toEqual(['ci', 'deploy']);
    expect(f.io.warnings.some((w) => w.endsWith('(try 2 of 3)'))).toBe(true);
  });

  it('without --name and without prompts: MissingInput naming --name', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const err = await rejection(
      tokenCreateRun({ f, scopes: ['dns:read'], resources: [], expires: '30d', identity: {} }),
    );
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toContain('--name');
  });

  it('past the window without prompts: MissingInput naming the ways to confirm', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    const err = await rejection(create(f, 'ci'));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'this change needs you to confirm your identity: use ACCTSEC_PASSWORD or --password-stdin',
    );
    expect(f.prompter.asked).toEqual([]);
    expect(f.io.printed).toEqual([]);
  });

  it('--method totp --code: the code is the proof, nothing asked', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const { secret } = await enableTotp(f);
    clock.advance(11 * MINUTE);
    await tokenCreateRun({
      f,
      name: 'ci',
      scopes: ['account:read'],
      resources: [],
      expires: '1d',
      identity: { method: 'totp', code: totpNow(secret) },
    });
    expect(f.io.lines[0]).toMatch(/^Token "ci" \(\w+\), scopes account:read, expires 2026-11-24 10:11\.$/);
  });

  it.each([
    [{ scopes: ['nope:read'] }, 'unknown scope "nope:read"; see `acctsec token scopes`', '--scope'],
    [{ scopes: [] }, 'choose at least one --scope (see `acctsec token scopes`)', '--scope'],
    [{ expires: '400d' }, 'invalid expiry "400d": at most 366 days from now', '--expires'],
    [
      { expires: 'tomorrow' },
      'invalid expiry "tomorrow": use 30d, 90d (any 1d to 366d) or a date YYYY-MM-DD',
      '--expires',
    ],
    [{ resources: ['domain:a b'] }, 'invalid resource "domain:a b": 1 to 200 characters, no spaces', '--resource'],
  ])('refuses %j with InvalidInput naming the value', async (extra, message, field) => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(create(f, 'ci', extra));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe(message);
    expect((err as InvalidInput).field).toBe(field);
    expect(f.io.printed).toEqual([]);
  });

  it('a second live token of the same name: Conflict', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await create(f, 'ci');
    const err = await rejection(create(f, 'ci'));
    expect(err).toBeInstanceOf(Conflict);
    expect(err.message).toBe('a token named "ci" exists; choose another name or rotate it');
  });
});

describe('token list', () => {
  it('no tokens: a hint on stderr, nothing on stdout', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await tokenListRun({ f });
    expect(f.io.lines).toEqual([]);
    expect(f.io.notes).toEqual(['No tokens yet: `acctsec token create --name N --scope S`.']);
  });

  it('a table with state, scopes, resources, expiry and last use', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci', { scopes: ['account:read', 'ip:write'], resources: ['domain:example.com'], expires: '30d' });
    await create(f, 'old', { expires: '1d' });
    const [ci, old] = f.io.json.values as TokenCreated[];
    await (await f.backendWith(undefined)).verifyToken(ci!.token);
    clock.advance(2 * 24 * 60 * MINUTE);
    // Two days idle would end the session under the default policy (24 hours).
    const g = createFakeFactory({ shareWith: f, policy: { sessionIdleHours: 72 } });
    await tokenListRun({ f: g });
    expect(g.io.lines).toEqual([
      'NAME  ID' +
        ' '.repeat(ci!.id.length) +
        'STATE    SCOPES                 RESOURCES           EXPIRES     LAST USED',
      `ci    ${ci!.id}  active   account:read,ip:write  domain:example.com  2026-12-23  2 days ago`,
      `old   ${old!.id}  expired  account:read           all                 2026-11-24  never`,
    ]);
  });

  it('--json: the TokenViews', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci');
    const { id } = f.io.document<TokenCreated>();
    const g = createFakeFactory({ json: true, shareWith: f });
    await tokenListRun({ f: g });
    expect(g.io.document<TokenView[]>()).toEqual([
      {
        id,
        name: 'ci',
        scopes: ['account:read'],
        resources: [],
        createdAt: '2026-11-23T10:00:00.000Z',
        expiresAt: '2026-12-23T10:00:00.000Z',
        lastUsedAt: null,
        lastUsedIp: null,
        state: 'active',
      },
    ]);
  });
});

describe('token revoke', () => {
  it('by name: says so, and the secret stops working', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci');
    const { id, token } = f.io.document<TokenCreated>();
    const g = createFakeFactory({ shareWith: f });
    await tokenRevokeRun({ f: g, ref: 'ci', identity: {} });
    expect(g.io.lines).toEqual([`Revoked "ci" (${id}).`]);
    expect(await (await g.backendWith(undefined)).verifyToken(token)).toEqual({ active: false });
  });

  it('--json by id: the revoked TokenView', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci');
    const { id } = f.io.document<TokenCreated>();
    clock.advance(MINUTE);
    const g = createFakeFactory({ json: true, shareWith: f });
    await tokenRevokeRun({ f: g, ref: id, identity: {} });
    expect(g.io.document<TokenView>()).toMatchObject({ id, name: 'ci', state: 'revoked' });
  });

  it('past the window: asks for the password first', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await create(f, 'ci');
    clock.advance(11 * MINUTE);
    const g = createFakeFactory({ shareWith: f, script: [ask.password('Password:', PASSWORD)] });
    await tokenRevokeRun({ f: g, ref: 'ci', identity: {} });
    expect(g.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(g.io.lines).toHaveLength(1);
  });

  it('an unknown reference: NotFound naming it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(tokenRevokeRun({ f, ref: 'nope', identity: {} }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe('no live token with id or name "nope"; see `acctsec token list`');
  });
});

describe('token verify', () => {
  async function tokenOf(f: FakeFactory, scopes = ['account:read']): Promise<TokenCreated> {
    const backend = await f.backend();
    return backend.createToken({ name: 'ci', scopes, resources: ['domain:example.com'], expires: '30d' });
  }

  it('at a terminal the token is asked masked; an active one prints its account, scopes and expiry', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const t = await tokenOf(f, ['account:read', 'dns:read']);
    f.prompter.script(ask.password('Token:', t.token));
    await tokenVerifyRun({ f });
    expect(f.prompter.asked).toEqual([{ kind: 'password', message: 'Token:', supply: 'stdin' }]);
    expect(f.io.lines).toEqual([
      'active: alice, scopes account:read, dns:read, resources domain:example.com, expires 2026-12-23 10:00',
    ]);
  });

  it('--json: the RFC 7662 answer', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    const t = await tokenOf(f);
    f.prompter.script(ask.password('Token:', t.token));
    await tokenVerifyRun({ f });
    const answer = f.io.document<ActiveIntrospection>();
    expect(answer).toEqual({
      active: true,
      scope: 'account:read',
      exp: Date.parse('2026-12-23T10:00:00Z') / 1000,
      iat: Date.parse('2026-11-23T10:00:00Z') / 1000,
      sub: answer.sub,
      username: 'alice',
      token_type: 'Bearer',
      account: 'alice',
      scopes: ['account:read'],
      resources: ['domain:example.com'],
      expiresAt: '2026-12-23T10:00:00.000Z',
      deprecated: false,
    });
  });

  it('an inactive token: prints "inactive" and fails with AuthFailed inactive_token (exit 3)', async () => {
    const f = createFakeFactory({ script: [ask.password('Token:', 'acs_notarealtoken')] });
    await initAlice(f);
    const err = await rejection(tokenVerifyRun({ f }));
    expect(f.io.lines).toEqual(['inactive']);
    expect(err).toBeInstanceOf(AuthFailed);
    expect((err as AuthFailed).slug).toBe('inactive_token');
    expect(err.message).toBe('the token is not active');
  });

  it('--json inactive: {"active": false} alone, and still AuthFailed', async () => {
    const f = createFakeFactory({ json: true, script: [ask.password('Token:', 'acs_notarealtoken')] });
    await initAlice(f);
    await expect(tokenVerifyRun({ f })).rejects.toBeInstanceOf(AuthFailed);
    expect(f.io.document()).toEqual({ active: false });
  });

  it('the legacy API key is active but deprecated: a warning', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { key } = await (await f.backend()).generateApiKey();
    f.prompter.script(ask.password('Token:', key));
    await tokenVerifyRun({ f });
    expect(f.io.lines).toHaveLength(1);
    expect(f.io.lines[0]).toMatch(/^active: alice, scopes account:read, ip:write, .*, resources all, expires never$/);
    expect(f.io.warnings).toEqual([
      'this is a deprecated API key: replace it with a personal access token (`acctsec apikey migrate`)',
    ]);
  });

  it('without a terminal the token is the first non-empty line of stdin (process.stdin, stubbed)', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const t = await tokenOf(f);
    stubStdin(`\n  ${t.token}  \nignored\n`);
    const { tokenVerifyRun: fresh } = await import('../../../src/cli/commands/token.js');
    await fresh({ f });
    expect(f.io.lines).toEqual([
      'active: alice, scopes account:read, resources domain:example.com, expires 2026-12-23 10:00',
    ]);
    expect(f.prompter.asked).toEqual([]);
  });

  it('without a terminal and an empty stdin: MissingInput', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    stubStdin('\n\n');
    const { tokenVerifyRun: fresh } = await import('../../../src/cli/commands/token.js');
    const errors = await import('../../../src/errors.js');
    const err = await rejection(fresh({ f }));
    expect(err).toBeInstanceOf(errors.MissingInput);
    expect(err.message).toBe('the token is read from stdin, and stdin is empty');
    expect(f.io.printed).toEqual([]);
  });
});
