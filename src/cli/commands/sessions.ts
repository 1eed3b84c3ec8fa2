import { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { ago, table } from '../format.js';
import { withIdentity, type IdentityFlags } from '../secrets.js';

export function newCmdSessions(f: Factory): Command {
  const cmd = new Command('sessions').description('list and end my sessions');
  cmd.command('list').description('my active sessions').action(() => sessionsListRun({ f }));
  cmd
    .command('revoke')
    .description('end one session by id, or every session but this one (--others)')
    .argument('[id]', 'session id from `acctsec sessions list`')
    .option('--others', 'end every session except this one')
    .option('--password-stdin', 'confirm identity with the password from stdin')
    .option('--method <method>', 'second factor used with --code')
    .option('--code <code>', 'confirm identity with a second-factor code')
    .action((id: string | undefined, o: { others?: boolean } & IdentityFlags) => {
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

export async function sessionsRevokeRun(opts: { f: Factory; id: string | undefined; others: boolean; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (opts.others) {
    const { revoked } = await withIdentity(f, opts.identity, (proof) => backend.revokeOtherSessions(proof));
    if (f.globals.json) f.io.json({ revoked });
    else f.io.out(`Ended ${revoked} other session${revoked === 1 ? '' : 's'}.`);
    return;
  }
  const id = opts.id as string;
  await withIdentity(f, opts.identity, (proof) => backend.revokeSession(id, proof));
  if (f.globals.json) f.io.json({ revoked: 1, id });
  else f.io.out(`Ended session ${id}.`);
}
