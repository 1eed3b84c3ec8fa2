import { Command } from 'commander';
import type { StrandedSession } from '../../config/profiles.js';
import { AcctsecError, InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { table } from '../format.js';

export function newCmdConfig(f: Factory): Command {
  const cmd = new Command('config').description('settings of the current profile (file mode 0600)');
  cmd
    .command('get')
    .description('print a setting (its default when unset)')
    .argument('<key>')
    .action((key: string) => configGetRun({ f, key }));
  cmd
    .command('set')
    .description('set a setting in the current profile')
    .argument('<key>')
    .argument('<value>')
    .action((key: string, value: string) => configSetRun({ f, key, value }));
  cmd
    .command('unset')
    .description('remove a setting from the current profile')
    .argument('<key>')
    .action((key: string) => configUnsetRun({ f, key }));
  cmd
    .command('list')
    .description('every setting with its value and where it comes from')
    .action(() => configListRun({ f }));
  cmd
    .command('path')
    .description("print the config file's path")
    .action(() => configPathRun({ f }));
  cmd
    .command('reset')
    .description("forget the current profile's settings and session (--all: the whole file, moved aside)")
    .option('--all', 'move the config file aside to config.json.<time>.bak and start afresh')
    .action((o: { all?: boolean }) => configResetRun({ f, all: o.all === true }));
  return cmd;
}

export async function configGetRun(opts: { f: Factory; key: string }): Promise<void> {
  const { f } = opts;
  const { settingSpec } = await import('../../config/profiles.js');
  const spec = settingSpec(opts.key);
  const stored = (await f.profiles()).get(opts.key) ?? spec.default ?? null;
  const value = stored !== null && spec.redact ? spec.redact(stored) : stored;
  if (f.globals.json) f.io.json({ key: spec.key, value });
  else f.io.out(value === null ? '' : String(value));
}

export async function configSetRun(opts: { f: Factory; key: string; value: string }): Promise<void> {
  const { f } = opts;
  const profiles = await f.profiles();
  const { settingSpec } = await import('../../config/profiles.js');
  const spec = settingSpec(opts.key);
  // Policy and mail are the server's: on a profile that talks to a server, setting them here would
  // print success and change nothing (issue #20 §6).
  if ((spec.policy !== undefined || spec.key.startsWith('mail.')) && (await f.isRemote()))
    throw new InvalidInput(
      `${spec.key} is a setting of the server, and this profile uses a remote one (--remote, ACCTSEC_REMOTE or the profile's remote): set it in the profile that \`acctsec serve\` runs with, on the server's host`,
      'key',
    );
  const stored = await profiles.set(opts.key, opts.value);
  const value = spec.redact ? spec.redact(stored) : stored;
  if (f.globals.json) f.io.json({ key: opts.key, value, profile: profiles.profileName });
  else f.io.note(`Set ${opts.key} = ${String(value)} in profile ${profiles.profileName}.`);
}

export async function configUnsetRun(opts: { f: Factory; key: string }): Promise<void> {
  const { f } = opts;
  const profiles = await f.profiles();
  const had = await profiles.unset(opts.key);
  if (f.globals.json) f.io.json({ key: opts.key, removed: had, profile: profiles.profileName });
  else
    f.io.note(
      had
        ? `Removed ${opts.key} from profile ${profiles.profileName}.`
        : `${opts.key} was not set in profile ${profiles.profileName}.`,
    );
}

export async function configListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const { settings } = await import('../../config/profiles.js');
  const profiles = await f.profiles();
  const own = profiles.profile().settings;
  const items = settings.map((s) => ({
    key: s.key,
    value: s.key in own && s.redact ? s.redact(own[s.key]!) : (own[s.key] ?? s.default ?? null),
    source: s.key in own ? 'profile' : s.default !== undefined ? 'default' : 'unset',
    description: s.description,
  }));
  if (f.globals.json) {
    f.io.json({ profile: profiles.profileName, path: profiles.path, settings: items });
    return;
  }
  f.io.out(
    table(
      items.map((i) => [i.key, i.value === null ? '-' : String(i.value), i.source]),
      ['KEY', 'VALUE', 'SOURCE'],
    ),
  );
}

export async function configPathRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const path = (await f.profiles()).path;
  if (f.globals.json) f.io.json({ path });
  else f.io.out(path);
}

/**
 * `config reset`: the way out of a profile or a config file that no longer works (issue #19). One
 * profile: its saved session is ended on its server first, as `logout` would (when that fails, the
 * user is told how to end it). `--all`: the file is moved aside whatever its state, and the sessions
 * found in it, which are forgotten but not ended, are named with the command that ends each.
 */
export async function configResetRun(opts: { f: Factory; all: boolean }): Promise<void> {
  const { f } = opts;
  const profiles = await f.profiles();
  const stranded = (list: StrandedSession[]) => {
    for (const s of list)
      f.io.warn(
        `the session ${s.sessionId}${s.username ? ` of ${s.username}` : ''}${s.location ? ` at ${s.location}` : ''} was forgotten, not ended: sign in and run \`acctsec sessions revoke ${s.sessionId}\` (or let it expire)`,
      );
  };
  if (opts.all) {
    const moved = await profiles.resetAll();
    if (f.globals.json)
      f.io.json({
        path: profiles.path,
        movedTo: moved?.aside ?? null,
        ...(moved?.link !== undefined ? { link: moved.link } : {}),
        sessionsNotEnded: moved?.sessions ?? [],
      });
    else if (moved)
      f.io.note(
        moved.link !== undefined
          ? `Moved the link ${profiles.path} (to ${moved.link}) aside to ${moved.aside}, its target untouched; every profile starts afresh.`
          : `Moved ${profiles.path} aside to ${moved.aside}; every profile starts afresh.`,
      );
    else f.io.note(`There is no config file at ${profiles.path}: nothing to reset.`);
    if (moved) stranded(moved.sessions);
    return;
  }
  const saved = profiles.session();
  let notEnded: StrandedSession[] = [];
  if (saved) {
    try {
      await (await f.backend()).signOut();
    } catch (err) {
      // Already over (exit 3) is ended; anything else leaves it live on its server: said below.
      if (!(err instanceof AcctsecError) || err.exitCode !== 3)
        notEnded = [{ sessionId: saved.sessionId, username: saved.username, location: saved.location }];
    }
  }
  const had = await profiles.reset();
  if (f.globals.json) f.io.json({ profile: profiles.profileName, removed: had, sessionsNotEnded: notEnded });
  else f.io.note(had ? `Profile ${profiles.profileName} reset.` : `Profile ${profiles.profileName} had nothing saved.`);
  stranded(notEnded);
}
