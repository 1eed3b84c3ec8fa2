import { describe, expect, it } from 'vitest';
import {
  apikeyDeleteRun,
  apikeyGenerateRun,
  apikeyMigrateRun,
  apikeyShowRun,
  newCmdApikey,
} from '../../../src/cli/commands/apikey.js';
import { InvalidInput, MissingInput, NotFound } from '../../../src/errors.js';
import type { ApiKeyStatus, TokenCreated } from '../../../src/views.js';
import { MINUTE, PASSWORD, ask, clock, createFakeFactory, initAlice, rejection } from './fake-factory.js';

const GENERATE = 'Generate a deprecated API key anyway (a token is better)?';
const DEPRECATED =
  'the API key is deprecated: use a personal access token instead (`acctsec token create`, or `acctsec apikey migrate`)';
const ALL_SCOPES = [
  'account:read',
  'ip:write',
  'notifications:write',
  'tokens:introspect',
  'domains:read',
  'domains:write',
  'dns:read',
  'dns:write',
  'billing:read',
];
const KEY = /^acsk_[A-Za-z0-9]+$/;

describe('apikey show', () => {
  it('none: "No API key."', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await apikeyShowRun({ f });
    expect(f.io.lines).toEqual(['No API key.']);
  });

  it('one: its id, creation and last use, never the key', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { id, key } = await (await f.backend()).generateApiKey();
    clock.advance(30 * MINUTE);
    await (await f.backendWith(undefined)).verifyToken(key);
    await apikeyShowRun({ f });
    expect(f.io.lines).toEqual([`API key ${id}, created 2026-11-23 10:00, last used 2026-11-23 10:30.`]);
  });

  it('--json: the ApiKeyStatus', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    const { id } = await (await f.backend()).generateApiKey();
    await apikeyShowRun({ f });
    expect(f.io.document<ApiKeyStatus>()).toEqual({
      present: true,
      id,
      createdAt: '2026-11-23T10:00:00.000Z',
      lastUsedAt: null,
      lastUsedIp: null,
      scopes: ALL_SCOPES,
    });
  });

  it('every use through the command warns that the key is deprecated', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await newCmdApikey(f).exitOverride().parseAsync(['show'], { from: 'user' });
    expect(f.io.warnings).toEqual([DEPRECATED]);
    expect(f.io.lines).toEqual(['No API key.']);
  });
});

describe('apikey generate', () => {
  it('asks to confirm (default no), then prints the key once', async () => {
    const f = createFakeFactory({ script: [ask.confirm(GENERATE, true)] });
    await initAlice(f);
    await apikeyGenerateRun({ f, identity: {} });
    expect(f.prompter.asked).toEqual([{ kind: 'confirm', message: GENERATE, supply: '--yes', default: false }]);
    const id = /^API key (\w+)\. Copy it now: it is shown only this once\.$/.exec(f.io.lines[0]!)?.[1];
    expect(id).toBeDefined();
    expect(f.io.lines[1]).toMatch(/^ {2}acsk_[A-Za-z0-9]+$/);
    expect(f.io.lines).toHaveLength(2);
    const check = await (await f.backendWith(undefined)).verifyToken(f.io.lines[1]!.trim());
    expect(check).toMatchObject({ active: true, deprecated: true, scopes: ALL_SCOPES });
  });

  it('a no at the prompt: nothing changed, no key', async () => {
    const f = createFakeFactory({ script: [ask.confirm(GENERATE, false)] });
    await initAlice(f);
    await apikeyGenerateRun({ f, identity: {} });
    expect(f.io.notes).toEqual(['Nothing changed.']);
    expect(f.io.lines).toEqual([]);
    expect((await (await f.backend()).apiKeyStatus()).present).toBe(false);
  });

  it('--yes --json: no prompt; {key, id}; a second one replaces the first', async () => {
    const f = createFakeFactory({ yes: true, json: true });
    await initAlice(f);
    await apikeyGenerateRun({ f, identity: {} });
    await apikeyGenerateRun({ f, identity: {} });
    const [first, second] = f.io.json.values as { key: string; id: string }[];
    expect(Object.keys(first!).sort()).toEqual(['id', 'key']);
    expect(first!.key).toMatch(KEY);
    expect(second!.id).not.toBe(first!.id);
    const verify = await f.backendWith(undefined);
    expect(await verify.verifyToken(first!.key)).toEqual({ active: false });
    expect(await verify.verifyToken(second!.key)).toMatchObject({ active: true });
    expect(f.prompter.asked).toEqual([]);
  });

  it('without prompts and without --yes: InvalidInput naming --yes', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    const err = await rejection(apikeyGenerateRun({ f, identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe('generating a deprecated API key needs --yes under --no-input');
    expect((err as InvalidInput).field).toBe('--yes');
  });

  it('past the identity window: asks yes, then the password', async () => {
    const f = createFakeFactory({ script: [ask.confirm(GENERATE, true), ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await apikeyGenerateRun({ f, identity: {} });
    expect(f.io.notes).toEqual(['Confirm your identity to continue.']);
    expect(f.io.lines).toHaveLength(2);
  });

  it('--yes past the window without prompts: MissingInput', async () => {
    const f = createFakeFactory({ interactive: false, yes: true });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    const err = await rejection(apikeyGenerateRun({ f, identity: {} }));
    expect(err).toBeInstanceOf(MissingInput);
    expect(err.message).toBe(
      'this change needs you to confirm your identity: use ACCTSEC_PASSWORD or --password-stdin',
    );
  });
});

describe('apikey delete', () => {
  it('deletes; the key stops working', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { key } = await (await f.backend()).generateApiKey();
    await apikeyDeleteRun({ f, identity: {} });
    expect(f.io.lines).toEqual(['API key deleted.']);
    expect(await (await f.backendWith(undefined)).verifyToken(key)).toEqual({ active: false });
  });

  it('--json: {deleted: true}', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await (await f.backend()).generateApiKey();
    await apikeyDeleteRun({ f, identity: {} });
    expect(f.io.document()).toEqual({ deleted: true });
  });

  it('no key: NotFound', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(apikeyDeleteRun({ f, identity: {} }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe('there is no API key');
  });
});

describe('apikey migrate', () => {
  it("a token with the key's scopes replaces it", async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const { key } = await (await f.backend()).generateApiKey();
    await apikeyMigrateRun({ f, name: 'migrated-api-key', expires: '90d', identity: {} });
    expect(f.io.lines[0]).toMatch(
      new RegExp(`^Token "migrated-api-key" \\(\\w+\\), scopes ${ALL_SCOPES.join(', ')}, expires 2027-02-21 10:00\\.$`),
    );
    expect(f.io.lines[1]).toBe('Copy it now: it is shown only this once.');
    expect(f.io.lines[2]).toMatch(/^ {2}acs_[A-Za-z0-9]+$/);
    expect(f.io.lines[3]).toBe('The API key is deleted; use the token in its place.');
    expect(f.io.lines).toHaveLength(4);
    const verify = await f.backendWith(undefined);
    expect(await verify.verifyToken(key)).toEqual({ active: false });
    expect(await verify.verifyToken(f.io.lines[2]!.trim())).toMatchObject({ active: true, deprecated: false });
  });

  it('--json: the TokenCreated alone', async () => {
    const f = createFakeFactory({ json: true });
    await initAlice(f);
    await (await f.backend()).generateApiKey();
    await apikeyMigrateRun({ f, name: 'ci', expires: '30d', identity: {} });
    const t = f.io.document<TokenCreated>();
    expect(t).toMatchObject({ name: 'ci', scopes: ALL_SCOPES, resources: [], expiresAt: '2026-12-23T10:00:00.000Z' });
  });

  it('no key: NotFound', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(apikeyMigrateRun({ f, name: 'ci', expires: '30d', identity: {} }));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe('there is no API key to migrate');
  });

  it('a bad --expires: InvalidInput, and the key stays', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await (await f.backend()).generateApiKey();
    const err = await rejection(apikeyMigrateRun({ f, name: 'ci', expires: '0d', identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toBe('invalid expiry "0d": at least 1d');
    expect((await (await f.backend()).apiKeyStatus()).present).toBe(true);
  });
});
