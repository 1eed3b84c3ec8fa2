import { Command } from 'commander';
import type { Factory } from '../factory.js';
import { identityOptions, sendIdentityCodeIfAsked, withIdentity, type IdentityFlags } from '../secrets.js';

export function newCmdUsername(f: Factory): Command {
  const cmd = new Command('username').description('my username');
  identityOptions(
    cmd
      .command('change')
      .description('change my username (3-64 of a-z 0-9 . _ -); needs identity confirmation')
      .argument('<new>', 'the new username'),
  ).action((name: string, o: IdentityFlags) => usernameChangeRun({ f, name, identity: o }));
  return cmd;
}

export async function usernameChangeRun(opts: { f: Factory; name: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `username change ${opts.name}`)) return;
  const result = await withIdentity(f, opts.identity, backend, (proof) => backend.changeUsername(opts.name, proof));
  const profiles = await f.profiles();
  const saved = profiles.session();
  if (saved) await profiles.saveSession({ ...saved, username: result.username });
  if (f.globals.json) f.io.json(result);
  else f.io.out(`Username changed from ${result.previous} to ${result.username}.`);
}
