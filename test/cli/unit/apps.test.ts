import { describe, expect, it } from 'vitest';
import { appsCreateRun, appsDeleteRun, appsListRun, appsShowRun } from '../../../src/cli/commands/apps.js';
import { InvalidInput } from '../../../src/errors.js';
import { MINUTE, PASSWORD, ask, clock, createFakeFactory, initAlice, rejection } from './fake-factory.js';

// Issue #21 "My apps": the commands' prompts and output (the rules: test/service/oauth-apps.test.ts).

const REDIRECT = 'https://printer.example/callback';

describe('apps create', () => {
  it('prints the client id and the secret once; list and show never print it', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await appsCreateRun({ f, name: 'Photo printer', redirectUris: [REDIRECT], isPublic: false, identity: {} });
    const secret = /^ {2}(acsapp_[0-9A-Za-z]{38})$/.exec(f.io.lines.at(-1)!)?.[1];
    expect(secret).toBeDefined();
    expect(f.io.lines.filter((l) => l.includes('acsapp_'))).toHaveLength(1);
    expect(f.io.lines[0]).toBe('Photo printer (confidential)');
    expect(f.io.lines[1]).toMatch(/^Client id\s+app_[0-9A-Za-z]{22}$/);
    const before = f.io.lines.length;
    await appsListRun({ f });
    await appsShowRun({ f, app: 'Photo printer' });
    const later = f.io.lines.slice(before).join('\n');
    expect(later).toContain('Photo printer');
    expect(later).not.toContain('acsapp_');
  });

  it('past the 10-minute window: asks for the password, then registers', async () => {
    const f = createFakeFactory({ script: [ask.password('Password:', PASSWORD)] });
    await initAlice(f);
    clock.advance(11 * MINUTE);
    await appsCreateRun({
      f,
      name: 'Desktop',
      redirectUris: ['http://127.0.0.1:8765/cb'],
      isPublic: true,
      identity: {},
    });
    expect(f.prompter.asked.map((a) => a.kind)).toEqual(['password']);
    expect(f.io.lines[0]).toBe('Desktop (public)');
    expect(f.io.lines.join('\n')).not.toMatch(/secret/i);
  });

  it('without a redirect URI: InvalidInput naming --redirect-uri, nothing asked', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    const err = await rejection(appsCreateRun({ f, name: 'X', redirectUris: [], isPublic: false, identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toContain('--redirect-uri');
  });
});

describe('apps delete', () => {
  it('asks for confirmation; "no" changes nothing, "yes" deletes', async () => {
    const f = createFakeFactory();
    await initAlice(f);
    await appsCreateRun({ f, name: 'Printer', redirectUris: [REDIRECT], isPublic: false, identity: {} });
    f.prompter.script(ask.confirm('Delete the application Printer? Its tokens stop working.', false));
    await appsDeleteRun({ f, app: 'Printer', identity: {} });
    expect(f.io.notes).toContain('Nothing changed.');
    expect(await (await f.backend()).listApps()).toHaveLength(1);
    f.prompter.script(ask.confirm('Delete the application Printer? Its tokens stop working.', true));
    await appsDeleteRun({ f, app: 'Printer', identity: {} });
    expect(f.io.lines.at(-1)).toMatch(/^Deleted "Printer" \(app_\w+\)/);
    expect(await (await f.backend()).listApps()).toEqual([]);
  });

  it('without a terminal: refuses unless --yes', async () => {
    const f = createFakeFactory({ interactive: false });
    await initAlice(f);
    await appsCreateRun({ f, name: 'Printer', redirectUris: [REDIRECT], isPublic: false, identity: {} });
    const err = await rejection(appsDeleteRun({ f, app: 'Printer', identity: {} }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err.message).toContain('--yes');
    expect(await (await f.backend()).listApps()).toHaveLength(1);
  });
});
