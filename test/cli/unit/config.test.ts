import { where } from '../../../src/config/profiles.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  configGetRun,
  configListRun,
  configPathRun,
  configSetRun,
  configUnsetRun,
} from '../../../src/cli/commands/config.js';
import { InvalidInput } from '../../../src/errors.js';
import { createFakeFactory } from './fake-factory.js';

// `config` reads and writes the profile's file only: no database, no session needed.

describe('config get', () => {
  it('unset with a default: the default', async () => {
    const f = createFakeFactory();
    await configGetRun({ f, key: 'policy.passwordMinLength' });
    expect(f.io.lines).toEqual(['12']);
  });

  it('unset without a default: an empty line; --json null', async () => {
    const f = createFakeFactory();
    await configGetRun({ f, key: 'remote' });
    expect(f.io.lines).toEqual(['']);
    const j = createFakeFactory({ json: true });
    await configGetRun({ f: j, key: 'remote' });
    expect(j.io.document()).toEqual({ key: 'remote', value: null });
  });

  it('a set value, typed in --json', async () => {
    const f = createFakeFactory({ json: true });
    await (await f.profiles()).set('policy.allowEmailMfa', 'off');
    await configGetRun({ f, key: 'policy.allowEmailMfa' });
    expect(f.io.document()).toEqual({ key: 'policy.allowEmailMfa', value: false });
  });

  it('an SMTP password is never shown', async () => {
    const f = createFakeFactory();
    await (await f.profiles()).set('mail.smtp', 'smtps://mailer:s3cret@mail.example.com:465');
    await configGetRun({ f, key: 'mail.smtp' });
    expect(f.io.lines).toEqual(['smtps://mailer:***@mail.example.com:465']);
  });

  it('an unknown key: InvalidInput listing the known ones', async () => {
    const f = createFakeFactory();
    const err = await configGetRun({ f, key: 'policy.passwordMinLenght' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).message).toMatch(
      /^unknown config key "policy\.passwordMinLenght"; known keys: db, remote, policy\.passwordMinLength, /,
    );
    expect((err as InvalidInput).field).toBe('key');
  });
});

describe('config set', () => {
  it('stores the parsed value; the notice goes to stderr, stdout stays empty', async () => {
    const f = createFakeFactory();
    await configSetRun({ f, key: 'policy.passwordMinLength', value: '16' });
    expect(f.io.lines).toEqual([]);
    expect(f.io.notes).toEqual(['Set policy.passwordMinLength = 16 in profile default.']);
    expect(JSON.parse(readFileSync(join(f.configDir, 'config.json'), 'utf8'))).toEqual({
      profiles: { default: { settings: { 'policy.passwordMinLength': 16 } } },
    });
  });

  it('--json: the key, the stored (redacted) value and the profile', async () => {
    const f = createFakeFactory({ json: true, profile: 'work' });
    await configSetRun({ f, key: 'mail.smtp', value: 'smtp://u:pw@mail.example.com:587' });
    expect(f.io.document()).toEqual({ key: 'mail.smtp', value: 'smtp://u:***@mail.example.com:587', profile: 'work' });
    expect((await f.profiles()).get('mail.smtp')).toBe('smtp://u:pw@mail.example.com:587');
  });

  it('a URL is normalised', async () => {
    const f = createFakeFactory({ json: true });
    await configSetRun({ f, key: 'remote', value: 'https://acctsec.example.com/' });
    expect(f.io.document()).toEqual({ key: 'remote', value: 'https://acctsec.example.com', profile: 'default' });
  });

  it.each([
    [
      'policy.passwordMinLength',
      '8',
      'invalid value "8" for policy.passwordMinLength: expected a whole number from 12 to 256',
    ],
    ['policy.allowEmailMfa', 'maybe', 'invalid value "maybe" for policy.allowEmailMfa: expected true or false'],
    [
      'remote',
      'ftp://example.com',
      'invalid value "ftp://example.com" for remote: expected an http:// or https:// URL',
    ],
    ['totp.issuer', 'a:b', 'invalid value "a:b" for totp.issuer: 1 to 64 characters, no ":"'],
  ])('%s = %s: InvalidInput naming the value and the key, nothing stored', async (key, value, message) => {
    const f = createFakeFactory();
    const err = await configSetRun({ f, key, value }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).message).toBe(message);
    expect((err as InvalidInput).field).toBe(key);
    expect((await f.profiles()).profile().settings).toEqual({});
    expect(f.io.printed).toEqual([]);
  });

  it('an SMTP URL with a password is redacted in the error too', async () => {
    const f = createFakeFactory();
    const err = (await configSetRun({ f, key: 'mail.smtp', value: 'not a url:pw@x' }).catch(
      (e: unknown) => e,
    )) as InvalidInput;
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).not.toContain(':pw@');
  });
});

describe('config unset', () => {
  it('removes a set key', async () => {
    const f = createFakeFactory();
    await (await f.profiles()).set('policy.sessionIdleHours', '8');
    await configUnsetRun({ f, key: 'policy.sessionIdleHours' });
    expect(f.io.notes).toEqual(['Removed policy.sessionIdleHours from profile default.']);
    expect((await f.profiles()).get('policy.sessionIdleHours')).toBeUndefined();
  });

  it('a key that was not set: says so', async () => {
    const f = createFakeFactory();
    await configUnsetRun({ f, key: 'db' });
    expect(f.io.notes).toEqual(['db was not set in profile default.']);
    expect(f.io.lines).toEqual([]);
  });

  it('--json', async () => {
    const f = createFakeFactory({ json: true });
    await (await f.profiles()).set('db', '/srv/acctsec.db');
    await configUnsetRun({ f, key: 'db' });
    expect(f.io.document()).toEqual({ key: 'db', removed: true, profile: 'default' });
  });
});

describe('config list', () => {
  it('every key with its value and source', async () => {
    const f = createFakeFactory();
    const p = await f.profiles();
    await p.set('policy.passwordMinLength', '14');
    await p.set('mail.smtp', 'smtps://u:pw@mail.example.com');
    await configListRun({ f });
    expect(f.io.lines).toEqual([
      'KEY                            VALUE                                                       SOURCE',
      'db                             -                                                           unset',
      'remote                         -                                                           unset',
      'policy.passwordMinLength       14                                                          profile',
      'policy.passwordRotationMonths  6                                                           default',
      'policy.sessionIdleHours        24                                                          default',
      'policy.sessionMaxDays          14                                                          default',
      'totp.issuer                    acctsec                                                     default',
      'policy.allowEmailMfa           true                                                        default',
      'policy.keyUserVerification     preferred                                                   default',
      'notifications.newsletters      product-news,tips,events,status-updates                     default',
      'tokens.scopes                  domains:read,domains:write,dns:read,dns:write,billing:read  default',
      'mail.smtp                      smtps://u:***@mail.example.com                              profile',
      'mail.from                      acctsec <no-reply@localhost>                                default',
    ]);
  });

  it('--json: profile, path and each setting with its description', async () => {
    const f = createFakeFactory({ json: true });
    await configListRun({ f });
    const doc = f.io.document<{
      profile: string;
      path: string;
      settings: { key: string; value: unknown; source: string; description: string }[];
    }>();
    expect(doc.profile).toBe('default');
    expect(doc.path).toBe(join(f.configDir, 'config.json'));
    expect(doc.settings).toHaveLength(13);
    expect(doc.settings[2]).toEqual({
      key: 'policy.passwordMinLength',
      value: 12,
      source: 'default',
      description: 'minimum password length in characters (12 to 256)',
    });
    expect(doc.settings.find((s) => s.key === 'db')).toMatchObject({ value: null, source: 'unset' });
  });
});

describe('config path', () => {
  it('the config file of the profile store', async () => {
    const f = createFakeFactory();
    await configPathRun({ f });
    expect(f.io.lines).toEqual([join(f.configDir, 'config.json')]);
    const j = createFakeFactory({ json: true, shareWith: f });
    await configPathRun({ f: j });
    expect(j.io.document()).toEqual({ path: join(f.configDir, 'config.json') });
  });
});

describe('the config file', () => {
  it('a profile name an object key cannot carry is refused, not saved and lost (__proto__, constructor, prototype)', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const f = createFakeFactory({ profile: name });
      await expect(async () =>
        configSetRun({ f, key: 'remote', value: 'https://acctsec.example.com' }),
      ).rejects.toThrow(
        new InvalidInput(
          `invalid profile name "${name}": use letters, digits, ".", "_" and "-" (not __proto__, constructor or prototype)`,
          '--profile',
        ),
      );
      expect(existsSync(join(f.configDir, 'config.json'))).toBe(false);
    }
  });

  it('an empty file is refused by reads and writes alike, naming the file, and left as it is', async () => {
    const f = createFakeFactory();
    const file = join(f.configDir, 'config.json');
    writeFileSync(file, '');
    const refusal = `the config file ${file} is not valid JSON (it ends early): fix it, or move it aside with \`acctsec config reset --all\``;
    await expect(configGetRun({ f, key: 'remote' })).rejects.toThrow(new InvalidInput(refusal, 'config'));
    const g = createFakeFactory({ shareWith: f });
    await expect(configSetRun({ f: g, key: 'remote', value: 'https://acctsec.example.com' })).rejects.toThrow(
      new InvalidInput(refusal, 'config'),
    );
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});

describe('a damaged config file is described without quoting it (issue #19 review)', () => {
  const parseError = (text: string) => {
    try {
      JSON.parse(text);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('parsed');
  };
  it.each([
    ['{\n  "a": 1\n}x', 'line 3, column 2: Unexpected non-whitespace character'],
    ['{\n  "a": ,\n}', 'unexpected character ","'],
    ['{\n  "token": xacs_ses_SECRET\n}', 'unexpected character "x"'],
    ['', 'it ends early'],
    ['{\n  "profiles": {\n    "default": {,\n  }\n}\n', "line 3, column 17: Expected property name or '}'"],
  ])('%j', (text, expected) => {
    const said = where(text, parseError(text));
    expect(said).toBe(expected);
    expect(said).not.toContain('acs_ses');
  });
});
