import { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { localTime } from '../format.js';
import { identityOptions, sendIdentityCodeIfAsked, withIdentity, type IdentityFlags } from '../secrets.js';
import { showCreated } from './token.js';

const DEPRECATED =
  'the API key is deprecated: use a personal access token instead (`acctsec token create`, or `acctsec apikey migrate`)';

export function newCmdApikey(f: Factory): Command {
  const cmd = new Command('apikey').description('the legacy API key (deprecated: use personal access tokens)');
  // Every use says so (SPEC §7).
  cmd.hook('preAction', () => f.io.warn(DEPRECATED));
  cmd
    .command('show')
    .description('whether there is a key, when it was made and last used (never the key)')
    .action(() => apikeyShowRun({ f }));
  identityOptions(
    cmd.command('generate').description('a new key with every scope (replaces the old one); shown once'),
  ).action((o: IdentityFlags) => apikeyGenerateRun({ f, identity: o }));
  identityOptions(cmd.command('delete').description('delete the key')).action((o: IdentityFlags) =>
    apikeyDeleteRun({ f, identity: o }),
  );
  identityOptions(
    cmd
      .command('migrate')
      .description('replace the key with a token that has its scopes (shown once); the key is deleted')
      .option('--name <name>', "the new token's name", 'migrated-api-key')
      .option('--expires <when>', '30d, 90d (1d to 366d) or YYYY-MM-DD', '90d'),
  ).action((o: { name: string; expires: string } & IdentityFlags) =>
    apikeyMigrateRun({ f, name: o.name, expires: o.expires, identity: o }),
  );
  return cmd;
}

export async function apikeyShowRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const s = await (await f.backend()).apiKeyStatus();
  if (f.globals.json) f.io.json(s);
  else if (!s.present) f.io.out('No API key.');
  else
    f.io.out(
      `API key ${s.id}, created ${localTime(s.createdAt!)}, last used ${s.lastUsedAt ? `${localTime(s.lastUsedAt)}${s.lastUsedIp ? ` from ${s.lastUsedIp}` : ''}` : 'never'}.`,
    );
}

export async function apikeyGenerateRun(opts: { f: Factory; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'apikey generate')) return;
  if (!f.globals.yes) {
    if (!f.prompter.interactive)
      throw new InvalidInput('generating a deprecated API key needs --yes under --no-input', '--yes');
    if (!(await f.prompter.confirm('Generate a deprecated API key anyway (a token is better)?', '--yes', false))) {
      f.io.note('Nothing changed.');
      return;
    }
  }
  const { key, id } = await withIdentity(f, opts.identity, backend, (proof) => backend.generateApiKey(proof));
  if (f.globals.json) {
    f.io.json({ key, id });
    return;
  }
  f.io.out(`API key ${id}. Copy it now: it is shown only this once.`);
  f.io.out(`  ${key}`);
}

export async function apikeyDeleteRun(opts: { f: Factory; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'apikey delete')) return;
  await withIdentity(f, opts.identity, backend, (proof) => backend.deleteApiKey(proof));
  if (f.globals.json) f.io.json({ deleted: true });
  else f.io.out('API key deleted.');
}

export async function apikeyMigrateRun(opts: {
  f: Factory;
  name: string;
  expires: string;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'apikey migrate')) return;
  showCreated(
    f,
    await withIdentity(f, opts.identity, backend, (proof) => backend.migrateApiKey(opts.name, opts.expires, proof)),
    'Token',
  );
  if (!f.globals.json) f.io.out('The API key is deleted; use the token in its place.');
}
