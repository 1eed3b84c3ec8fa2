import type { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';

// Issue #21 for support staff: every registered OAuth application, turning one off (its tokens end at
// once) or on again, and the admin's rotation of the ID-token signing key. Each change needs --reason
// (audited) and a confirmation or --yes.

interface Flags {
  reason?: string;
}

async function confirmed(f: Factory, what: string, o: Flags): Promise<boolean> {
  if (!o.reason?.trim())
    throw new InvalidInput('every admin action needs --reason "why" (recorded in the audit log)', '--reason');
  if (f.globals.yes) return true;
  if (!f.prompter.interactive) throw new InvalidInput(`confirm with --yes to ${what}`, '--yes');
  if (await f.prompter.confirm(`${what[0]!.toUpperCase()}${what.slice(1)}?`, '--yes', false)) return true;
  f.io.note('Nothing changed.');
  return false;
}

export function addAppCommands(admin: Command, f: Factory): void {
  const apps = admin.command('apps').description('every registered OAuth application; turn one off or on');
  apps
    .command('list')
    .description('every application with its owner and state')
    .action(() => adminAppsListRun({ f }));
  for (const disabled of [true, false]) {
    apps
      .command(disabled ? 'disable' : 'enable')
      .description(
        disabled
          ? 'turn an application off: no new tokens, and every token issued to it ends at once; the owner is told'
          : 'turn a disabled application on again; the owner is told',
      )
      .argument('<client-id>')
      .option('--reason <text>', 'why: required, recorded in the audit log')
      .action(async (clientId: string, o: Flags) => {
        if (!(await confirmed(f, `${disabled ? 'disable' : 'enable'} the application ${clientId}`, o))) return;
        const app = await (await f.backend()).adminSetAppDisabled(clientId, disabled, { reason: o.reason! });
        if (f.globals.json) f.io.json(app);
        else f.io.out(`${disabled ? 'Disabled' : 'Enabled'} "${app.name}" (${app.clientId}) of ${app.owner}.`);
      });
  }
  admin
    .command('oauth')
    .description('the OAuth provider of `acctsec serve`')
    .command('keys')
    .description('the keys that sign ID tokens')
    .command('rotate')
    .description('a new signing key (admins only); JWKS publishes it and the previous one')
    .option('--reason <text>', 'why: required, recorded in the audit log')
    .action(async (o: Flags) => {
      if (!(await confirmed(f, 'rotate the ID-token signing key', o))) return;
      const r = await (await f.backend()).adminRotateOAuthKeys({ reason: o.reason! });
      if (f.globals.json) f.io.json(r);
      else f.io.out(`New signing key ${r.kid}; the previous key stays published until its tokens expire.`);
    });
}

export async function adminAppsListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const apps = await (await f.backend()).adminListApps();
  if (f.globals.json) {
    f.io.json(apps);
    return;
  }
  if (apps.length === 0) {
    f.io.note('No application is registered.');
    return;
  }
  f.io.out(
    table(
      apps.map((a) => [
        a.name,
        a.clientId,
        a.owner,
        a.public ? 'public' : 'confidential',
        a.disabled ? `disabled by ${a.disabled.by}` : 'active',
        localTime(a.createdAt).slice(0, 10),
      ]),
      ['NAME', 'CLIENT ID', 'OWNER', 'TYPE', 'STATE', 'CREATED'],
    ),
  );
}
