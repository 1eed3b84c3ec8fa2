import { describe, expect, it } from 'vitest';
import { createPrompter } from '../../../src/cli/prompts.js';
import { MissingInput } from '../../../src/errors.js';
import { ScriptError, ask, rejection, scriptedPrompter } from './fake-factory.js';

// The scripted prompter is what makes the command tests strict: check that it does fail.

describe('the scripted prompter', () => {
  it('answers the scripted prompts in order and records what was asked', async () => {
    const p = scriptedPrompter(true, [
      ask.password('Password:', 'pw'),
      ask.confirm('Sure?', false),
      ask.text('Name:', () => 'computed'),
    ]);
    expect(await p.password('Password:', 'ACCTSEC_PASSWORD')).toBe('pw');
    expect(await p.confirm('Sure?', '--yes', true)).toBe(false);
    expect(await p.text('Name:', '--name', { default: 'x' })).toBe('computed');
    expect(p.asked).toEqual([
      { kind: 'password', message: 'Password:', supply: 'ACCTSEC_PASSWORD' },
      { kind: 'confirm', message: 'Sure?', supply: '--yes', default: true },
      { kind: 'text', message: 'Name:', supply: '--name', default: 'x' },
    ]);
    expect(() => p.verify()).not.toThrow();
  });

  it('fails on a prompt of another message or kind, even when the caller swallows the error', async () => {
    const p = scriptedPrompter(true, [ask.password('Password:', 'pw')]);
    await expect(p.text('Password:', '--x')).rejects.toBeInstanceOf(ScriptError);
    expect(() => p.verify()).toThrow('expected password prompt "Password:", got text prompt "Password:"');
  });

  it('fails on a prompt after the script is used up', async () => {
    const p = scriptedPrompter(true, []);
    await expect(p.confirm('Sure?', '--yes')).rejects.toThrow(
      'unexpected confirm prompt "Sure?": the script is used up',
    );
    expect(() => p.verify()).toThrow(ScriptError);
  });

  it('fails when scripted prompts were never asked', () => {
    const p = scriptedPrompter(true, [ask.text('Code:', '123456')]);
    expect(() => p.verify()).toThrow('scripted prompts never asked: text "Code:"');
  });

  it('refuses a select answer that is not a choice', async () => {
    const p = scriptedPrompter(true, [ask.select('Pick:', 'c')]);
    await expect(p.select('Pick:', '--pick', [{ value: 'a', name: 'A' }])).rejects.toBeInstanceOf(ScriptError);
    expect(() => p.verify()).toThrow('not among the choices a');
  });

  it('not interactive: throws the very MissingInput the real prompter throws', async () => {
    const p = scriptedPrompter(false);
    const real = createPrompter(false);
    for (const [ours, theirs] of [
      [
        p.password('Current password:', 'ACCTSEC_PASSWORD or --password-stdin'),
        real.password('Current password:', 'ACCTSEC_PASSWORD or --password-stdin'),
      ],
      [p.text('Code from the app:', '--code'), real.text('Code from the app:', '--code')],
      [p.confirm('Disable it anyway?', '--yes'), real.confirm('Disable it anyway?', '--yes')],
      [p.select('Confirm with:', '--method', []), real.select('Confirm with:', '--method', [])],
    ] as const) {
      const a = await rejection(ours);
      const b = await rejection(theirs);
      expect(a).toBeInstanceOf(MissingInput);
      expect(a.message).toBe(b.message);
    }
    expect((await rejection(p.text('Code from the app:', '--code'))).message).toBe(
      'code from the app is needed and prompting is off (--no-input, CI or no terminal): use --code',
    );
    expect(p.asked.map((a) => a.message)).toEqual([
      'Current password:',
      'Code from the app:',
      'Disable it anyway?',
      'Confirm with:',
      'Code from the app:',
    ]);
    expect(() => p.verify()).not.toThrow();
  });
});
