import { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { ago, table } from '../format.js';
import { identityOptions, sendIdentityCodeIfAsked, withIdentity, type IdentityFlags } from '../secrets.js';

export function newCmdSessions(f: Factory): Command {
  const cmd = new Command('sessions').description('list and end my sessions');
  cmd
    .command('list')
    .description('my active sessions')
    .action(() => sessionsListRun({ f }));
  identityOptions(
    cmd
      .command('revoke')
      .description('end one session by id, or every session but this one (--others)')
      .argument('[id]', 'session id from `acctsec sessions list`')
      .option('--others', 'end every session except this one'),
  ).action((id: string | undefined, o: { others?: boolean } & IdentityFlags) => {
    // Exactly one target: refusing the ambiguous call beats guessing which the user meant.
    if (Boolean(id) === Boolean(o.others)) throw new InvalidInput('give a session id or --others (one of them)', 'id');
    return sessionsRevokeRun({ f, id, others: Boolean(o.others), identity: o });
  });
  return cmd;
}

export async function sessionsListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const sessions = await (await f.backend()).listSessions();
  if (f.globals.json) {
    f.io.json(sessions);
    return;
  }
  const rows = sessions.map((s) => [
    s.current ? `${s.id} *` : s.id,
    ago(s.createdAt),
    ago(s.lastSeenAt),
    s.ip ?? '-',
    s.client ?? '-',
  ]);
  f.io.out(table(rows, ['ID', 'CREATED', 'LAST SEEN', 'ADDRESS', 'CLIENT']));
  f.io.note('* this session');
}

export async function sessionsRevokeRun(opts: {
  f: Factory;
  id: string | undefined;
  others: boolean;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (
    await sendIdentityCodeIfAsked(
      f,
      backend,
      opts.identity,
      `sessions revoke ${opts.others ? '--others' : (opts.id ?? '')}`,
    )
  )
    return;
  if (opts.others) {
    const { revoked } = await withIdentity(f, opts.identity, backend, (proof) => backend.revokeOtherSessions(proof));
    if (f.globals.json) f.io.json({ revoked });
    else f.io.out(`Ended ${revoked} other session${revoked === 1 ? '' : 's'}.`);
    return;
  }
  const id = opts.id as string;
  await withIdentity(f, opts.identity, backend, (proof) => backend.revokeSession(id, proof));
  if (f.globals.json) f.io.json({ revoked: 1, id });
  else f.io.out(`Ended session ${id}.`);
}
