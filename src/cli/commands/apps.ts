import { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { AppCreated, AppView } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';
import { identityOptions, sendIdentityCodeIfAsked, withIdentity, type IdentityFlags } from '../secrets.js';

// Issue #21: OAuth applications. "My apps" for developers (create, list, show, rotate-secret,
// delete) and, for everyone, the applications they allowed (authorized, revoke). The provider itself
// runs in `acctsec serve --public-url` (docs/oauth.md).

const collect = (value: string, previous: string[]) => [...previous, value];

export function newCmdApps(f: Factory): Command {
  const cmd = new Command('apps').description(
    'OAuth applications: the ones you registered ("My apps") and the ones you allowed to use your account',
  );
  identityOptions(
    cmd
      .command('create')
      .description('register an application; a confidential one gets a client secret, shown once')
      .requiredOption('--name <name>', 'what people see on the consent page (1 to 64 characters)')
      .option(
        '--redirect-uri <uri>',
        'where the browser returns, https (or http to this machine); repeat, up to 10',
        collect,
        [],
      )
      .option('--public', 'a desktop or mobile app that cannot keep a secret: no secret, PKCE only'),
  ).action((o: { name: string; redirectUri: string[]; public?: boolean } & IdentityFlags) =>
    appsCreateRun({ f, name: o.name, redirectUris: o.redirectUri, isPublic: Boolean(o.public), identity: o }),
  );
  cmd
    .command('list')
    .description('the applications you registered')
    .option('--mine', 'the applications you registered (the only list for now)')
    .action(() => appsListRun({ f }));
  cmd
    .command('show')
    .description('one of your applications')
    .argument('<app>', 'its client id or name')
    .action((app: string) => appsShowRun({ f, app }));
  identityOptions(
    cmd
      .command('rotate-secret')
      .description('a new client secret, shown once; the old one and every token issued to the app stop working')
      .argument('<app>', 'its client id or name'),
  ).action((app: string, o: IdentityFlags) => appsRotateRun({ f, app, identity: o }));
  identityOptions(
    cmd
      .command('delete')
      .description('delete an application: every token issued to it stops working at once')
      .argument('<app>', 'its client id or name'),
  ).action((app: string, o: IdentityFlags) => appsDeleteRun({ f, app, identity: o }));
  cmd
    .command('authorized')
    .description('the applications you allowed to use your account: scopes, first allowed, last used')
    .action(() => appsAuthorizedRun({ f }));
  cmd
    .command('revoke')
    .description("take back an application's access: its grant and every token under it end at once")
    .argument('<app>', 'its client id or name (see `apps authorized`)')
    .action((app: string) => appsRevokeRun({ f, app }));
  return cmd;
}

function describe(f: Factory, a: AppView): void {
  f.io.out(`${a.name} (${a.public ? 'public' : 'confidential'})`);
  f.io.out(`Client id       ${a.clientId}`);
  f.io.out(`Owner           ${a.owner}`);
  f.io.out(`Redirect URIs   ${a.redirectUris.join(', ')}`);
  f.io.out(`Created         ${localTime(a.createdAt)}`);
  if (a.secretRotatedAt) f.io.out(`Secret replaced ${localTime(a.secretRotatedAt)}`);
  if (a.disabled) f.io.out(`Disabled        ${localTime(a.disabled.at)} by ${a.disabled.by}: ${a.disabled.reason}`);
}

function showSecret(f: Factory, created: AppCreated): void {
  if (f.globals.json) {
    f.io.json(created);
    return;
  }
  describe(f, created);
  if (created.clientSecret) {
    f.io.out('');
    f.io.out("Client secret (shown once; store it in the application's secret store):");
    f.io.out(`  ${created.clientSecret}`);
  }
}

export async function appsCreateRun(opts: {
  f: Factory;
  name: string;
  redirectUris: string[];
  isPublic: boolean;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  if (opts.redirectUris.length === 0)
    throw new InvalidInput('an application needs at least one --redirect-uri', '--redirect-uri');
  const backend = await f.backend();
  if (
    await sendIdentityCodeIfAsked(
      f,
      backend,
      opts.identity,
      `apps create --name ${JSON.stringify(opts.name)}${opts.redirectUris.map((u) => ` --redirect-uri ${u}`).join('')}${opts.isPublic ? ' --public' : ''}`,
    )
  )
    return;
  showSecret(
    f,
    await withIdentity(f, opts.identity, backend, (proof) =>
      backend.createApp({ name: opts.name, redirectUris: opts.redirectUris, public: opts.isPublic }, proof),
    ),
  );
}

export async function appsListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const apps = await (await f.backend()).listApps();
  if (f.globals.json) {
    f.io.json(apps);
    return;
  }
  if (apps.length === 0) {
    f.io.note('No applications yet: `acctsec apps create --name N --redirect-uri https://...`.');
    return;
  }
  f.io.out(
    table(
      apps.map((a) => [
        a.name,
        a.clientId,
        a.public ? 'public' : 'confidential',
        a.disabled ? 'disabled' : 'active',
        localTime(a.createdAt).slice(0, 10),
      ]),
      ['NAME', 'CLIENT ID', 'TYPE', 'STATE', 'CREATED'],
    ),
  );
}

export async function appsShowRun(opts: { f: Factory; app: string }): Promise<void> {
  const { f } = opts;
  const app = await (await f.backend()).showApp(opts.app);
  if (f.globals.json) f.io.json(app);
  else describe(f, app);
}

export async function appsRotateRun(opts: { f: Factory; app: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `apps rotate-secret ${opts.app}`)) return;
  showSecret(f, await withIdentity(f, opts.identity, backend, (proof) => backend.rotateAppSecret(opts.app, proof)));
}

export async function appsDeleteRun(opts: { f: Factory; app: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (!f.globals.yes) {
    if (!f.prompter.interactive)
      throw new InvalidInput(`confirm with --yes to delete the application ${opts.app}`, '--yes');
    if (!(await f.prompter.confirm(`Delete the application ${opts.app}? Its tokens stop working.`, '--yes', false))) {
      f.io.note('Nothing changed.');
      return;
    }
  }
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `apps delete ${opts.app} --yes`)) return;
  const gone = await withIdentity(f, opts.identity, backend, (proof) => backend.deleteApp(opts.app, proof));
  if (f.globals.json) f.io.json(gone);
  else f.io.out(`Deleted "${gone.name}" (${gone.clientId}); every token issued to it stopped working.`);
}

export async function appsAuthorizedRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const apps = await (await f.backend()).authorizedApps();
  if (f.globals.json) {
    f.io.json(apps);
    return;
  }
  if (apps.length === 0) {
    f.io.note('You have not allowed any application to use your account.');
    return;
  }
  f.io.out(
    table(
      apps.map((a) => [
        a.name,
        a.clientId,
        a.owner,
        a.scopes.join(' ') || '-',
        localTime(a.firstAuthorizedAt),
        localTime(a.lastUsedAt),
      ]),
      ['NAME', 'CLIENT ID', 'OWNER', 'SCOPES', 'ALLOWED', 'LAST USED'],
    ),
  );
}

export async function appsRevokeRun(opts: { f: Factory; app: string }): Promise<void> {
  const { f } = opts;
  const r = await (await f.backend()).revokeAuthorizedApp(opts.app);
  if (f.globals.json) f.io.json(r);
  else f.io.out(`"${r.name}" (${r.clientId}) no longer has access to your account.`);
}
