import { Command } from 'commander';
import { AuthFailed, InvalidInput, MissingInput } from '../../errors.js';
import type { TokenCreated } from '../../views.js';
import type { Factory } from '../factory.js';
import { ago, localTime, table } from '../format.js';
import {
  askAgainOnError,
  identityOptions,
  readStdinLines,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function newCmdToken(f: Factory): Command {
  const cmd = new Command('token').description('personal access tokens for the API: scoped, expiring, revocable');
  cmd
    .command('scopes')
    .description('the scopes a token can have')
    .action(() => tokenScopesRun({ f }));
  identityOptions(
    cmd
      .command('create')
      .description('create a token; it is shown once')
      .option('--name <name>', 'a name to recognise it by (unique among your tokens; asked when left out)')
      .option('--scope <scope>', 'a scope from `token scopes` (repeat for more)', collect, [])
      .option(
        '--resource <resource>',
        'limit it to a resource, e.g. domain:example.com (repeat; none = all)',
        collect,
        [],
      )
      .option('--expires <when>', '30d, 90d (1d to 366d) or YYYY-MM-DD', '30d'),
  ).action((o: { name?: string; scope: string[]; resource: string[]; expires: string } & IdentityFlags) =>
    tokenCreateRun({ f, name: o.name, scopes: o.scope, resources: o.resource, expires: o.expires, identity: o }),
  );
  cmd
    .command('list')
    .description('my tokens (never their secrets)')
    .action(() => tokenListRun({ f }));
  identityOptions(cmd.command('revoke').description('revoke a token at once').argument('<id|name>')).action(
    (ref: string, o: IdentityFlags) => tokenRevokeRun({ f, ref, identity: o }),
  );
  identityOptions(
    cmd
      .command('rotate')
      .description('a new secret with the same settings; the old one stops working at once')
      .argument('<id|name>'),
  ).action((ref: string, o: IdentityFlags) => tokenRotateRun({ f, ref, identity: o }));
  cmd
    .command('verify')
    .description('introspection: is the token on stdin active, and for what? exit 0 if active, 3 if not')
    .option('--ip <address>', "the address the token is used from (checked against the account's IP list)")
    .addHelpText(
      'after',
      '\nRemotely (RFC 7662) the caller authenticates: the profile\'s session, or ACCTSEC_TOKEN with the scope tokens:introspect.\nAn inactive token answers {"active": false} alone.',
    )
    .action((o: { ip?: string }) => tokenVerifyRun({ f, ip: o.ip }));
  cmd
    .command('inspect')
    .description('offline: what kind of acctsec secret is the string on stdin, and is it well-formed?')
    .action(() => tokenInspectRun({ f }));
  return cmd;
}

/** The secret to check comes from stdin, never from an argument (SPEC §1); a terminal gets a masked prompt. */
export async function readSecretFromStdin(f: Factory): Promise<string> {
  if (f.prompter.interactive) return f.prompter.password('Token:', 'stdin');
  const line = (await readStdinLines()).find((l) => l.trim() !== '');
  if (!line) throw new MissingInput('the token is read from stdin, and stdin is empty');
  return line.trim();
}

export async function tokenScopesRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const scopes = await (await f.backendWith(undefined)).tokenScopes();
  if (f.globals.json) f.io.json(scopes);
  else
    f.io.out(
      table(
        scopes.map((s) => [s.name, s.description]),
        ['SCOPE', 'GRANTS'],
      ),
    );
}

export function showCreated(f: Factory, t: TokenCreated, what = 'Token'): void {
  if (f.globals.json) {
    f.io.json(t);
    return;
  }
  f.io.out(
    `${what} "${t.name}" (${t.id}), scopes ${t.scopes.join(', ')}${t.resources.length ? `, resources ${t.resources.join(', ')}` : ''}, expires ${t.expiresAt ? localTime(t.expiresAt) : 'never'}.`,
  );
  f.io.out('Copy it now: it is shown only this once.');
  f.io.out(`  ${t.token}`);
}

export async function tokenCreateRun(opts: {
  f: Factory;
  name?: string | undefined;
  scopes: string[];
  resources: string[];
  expires: string;
  identity: IdentityFlags;
}): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `token create --name ${opts.name ?? '<name>'}`)) return;
  // A missing name is asked for; a name the back end refuses (taken, too long), asked again (issue #20 §6).
  const askName = () => f.prompter.text('Token name:', '--name');
  let name = opts.name ?? (await askName());
  let again = false;
  const created = await askAgainOnError(
    f,
    async () => {
      if (again) name = await askName();
      again = false;
      return withIdentity(f, opts.identity, backend, (proof) =>
        backend.createToken({ name, scopes: opts.scopes, resources: opts.resources, expires: opts.expires }, proof),
      );
    },
    (err) =>
      (again =
        opts.name === undefined &&
        ((err instanceof InvalidInput && err.field === '--name') || err.slug === 'conflict')),
  );
  showCreated(f, created);
}

export async function tokenListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const tokens = await (await f.backend()).listTokens();
  if (f.globals.json) {
    f.io.json(tokens);
    return;
  }
  if (tokens.length === 0) {
    f.io.note('No tokens yet: `acctsec token create --name N --scope S`.');
    return;
  }
  const rows = tokens.map((t) => [
    t.name,
    t.id,
    t.state,
    t.scopes.join(','),
    t.resources.join(',') || 'all',
    t.expiresAt ? localTime(t.expiresAt).slice(0, 10) : 'never',
    t.lastUsedAt ? `${ago(t.lastUsedAt)}${t.lastUsedIp ? ` from ${t.lastUsedIp}` : ''}` : 'never',
  ]);
  f.io.out(table(rows, ['NAME', 'ID', 'STATE', 'SCOPES', 'RESOURCES', 'EXPIRES', 'LAST USED']));
}

export async function tokenRevokeRun(opts: { f: Factory; ref: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `token revoke ${opts.ref}`)) return;
  const t = await withIdentity(f, opts.identity, backend, (proof) => backend.revokeToken(opts.ref, proof));
  if (f.globals.json) f.io.json(t);
  else f.io.out(`Revoked "${t.name}" (${t.id}).`);
}

export async function tokenRotateRun(opts: { f: Factory; ref: string; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, `token rotate ${opts.ref}`)) return;
  showCreated(
    f,
    await withIdentity(f, opts.identity, backend, (proof) => backend.rotateToken(opts.ref, proof)),
    'New secret for',
  );
}

export async function tokenVerifyRun(opts: { f: Factory; ip?: string | undefined }): Promise<void> {
  const { f } = opts;
  const token = await readSecretFromStdin(f);
  // Remotely the caller authenticates (RFC 7662 §2.1): the profile's session, or ACCTSEC_TOKEN with
  // the scope tokens:introspect. Locally the database is at hand and no session is needed.
  const backend = (await f.isRemote()) ? await f.backend() : await f.backendWith(undefined);
  const result = await backend.verifyToken(token, opts.ip);
  if (f.globals.json) f.io.json(result);
  else if (result.active) {
    // An OAuth application's token (issue #21) names its application: alone for its own token (client
    // credentials), after the person for one it got from them.
    const holder =
      result.account === undefined
        ? `application ${result.client_id}`
        : result.client_id === undefined
          ? result.account
          : `${result.account} through application ${result.client_id}`;
    f.io.out(
      `active: ${holder}, scopes ${result.scopes.join(', ')}, resources ${result.resources.join(', ') || 'all'}, expires ${result.expiresAt ? localTime(result.expiresAt) : 'never'}`,
    );
  } else f.io.out('inactive');
  if (result.active && result.deprecated)
    f.io.warn('this is a deprecated API key: replace it with a personal access token (`acctsec apikey migrate`)');
  // Exit 3 for an inactive token, so scripts can branch on it (the answer is printed above).
  if (!result.active) throw new AuthFailed('the token is not active', 'inactive_token');
}

export async function tokenInspectRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  // Loaded here, not at the top: it needs node:crypto and node:zlib, which no other command of the CLI
  // process loads (issue #18).
  const { inspectSecret, secretName } = await import('../../token-format.js');
  const result = inspectSecret(await readSecretFromStdin(f));
  const describe = result.valid
    ? `a well-formed acctsec ${secretName(result.kind)}; ${result.kind === 'reset' ? 'its owner uses it with `acctsec recover --token`' : '`acctsec token verify` tells whether it is active'}`
    : result.reason;
  if (f.globals.json) f.io.json({ kind: result.kind, wellFormed: result.valid, description: describe });
  else f.io.out(describe);
}
