import { type Command, Option } from 'commander';
import { InvalidInput } from '../../errors.js';
import type { AdminResult } from '../../views.js';
import { csvLines } from '../csv.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';

// Issue #20 §3 and §5 for support staff: `admin users set-email`, `admin orgs ...` and
// `admin notifications recipients`.

type AdminRun = (
  f: Factory,
  what: string,
  o: { reason?: string; dryRun?: boolean },
  call: (b: Awaited<ReturnType<Factory['backend']>>) => Promise<AdminResult>,
) => Promise<void>;

interface Flags {
  reason?: string;
  dryRun?: boolean;
}

function withReason(cmd: Command): Command {
  return cmd
    .option('--reason <text>', 'why: required, recorded in the audit log')
    .option('--dry-run', 'print what would change and change nothing');
}

export function addEmailAndOrgCommands(admin: Command, users: Command, f: Factory, adminRun: AdminRun): void {
  withReason(
    users
      .command('set-email')
      .description(
        "change an account's address: a code goes to the new address and the owner enters it (`acctsec email confirm`); the old address is told",
      )
      .argument('<user>')
      .argument('<address>', 'the new address'),
  ).action((user: string, address: string, o: Flags) =>
    adminRun(f, `change the address of ${user} to ${address}`, o, (b) =>
      b.adminSetEmail(user, address, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );

  const orgs = admin
    .command('orgs')
    .description('organizations and their members (whose notices members may turn on or off)');
  withReason(orgs.command('create').description('create an organization (admins only)').argument('<org>')).action(
    (org: string, o: Flags) =>
      adminRun(f, `create the organization ${org}`, o, (b) =>
        b.adminCreateOrg(org, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
      ),
  );
  withReason(
    orgs.command('add-member').description('add an account to an organization').argument('<org>').argument('<user>'),
  ).action((org: string, user: string, o: Flags) =>
    adminRun(f, `add ${user} to ${org}`, o, (b) =>
      b.adminAddOrgMember(org, user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  withReason(
    orgs
      .command('remove-member')
      .description('remove an account from an organization')
      .argument('<org>')
      .argument('<user>'),
  ).action((org: string, user: string, o: Flags) =>
    adminRun(f, `remove ${user} from ${org}`, o, (b) =>
      b.adminRemoveOrgMember(org, user, { reason: o.reason ?? '', dryRun: Boolean(o.dryRun) }),
    ),
  );
  orgs
    .command('list')
    .description('every organization with its members')
    .action(() => adminOrgsListRun({ f }));

  admin
    .command('notifications')
    .description('mailings: who they go to')
    .command('recipients')
    .description(
      "the verified, unlocked accounts a newsletter or an organization notice goes to, with each one's mail format (admins only)",
    )
    .option('--newsletter <list>', 'subscribers of this newsletter')
    .option('--org <org>', 'members of this organization who have not turned its notices off')
    .addOption(
      new Option('--format <format>', 'csv or json (default: a table, or json with --json)').choices(['csv', 'json']),
    )
    .action((o: { newsletter?: string; org?: string; format?: string }) => adminRecipientsRun({ f, ...o }));
}

export async function adminOrgsListRun(opts: { f: Factory }): Promise<void> {
  const { f } = opts;
  const orgs = await (await f.backend()).adminListOrgs();
  if (f.globals.json) {
    f.io.json(orgs);
    return;
  }
  if (orgs.length === 0) {
    f.io.out('No organizations yet: `acctsec admin orgs create <org> --reason "..."`.');
    return;
  }
  f.io.out(
    table(
      orgs.map((o) => [
        o.name,
        String(o.members.length),
        o.members.join(', ') || '-',
        localTime(o.createdAt),
        o.createdBy,
      ]),
      ['ORGANIZATION', 'MEMBERS', 'WHO', 'CREATED', 'BY'],
    ),
  );
}

export async function adminRecipientsRun(opts: {
  f: Factory;
  newsletter?: string | undefined;
  org?: string | undefined;
  format?: string | undefined;
}): Promise<void> {
  const { f } = opts;
  if ((opts.newsletter === undefined) === (opts.org === undefined))
    throw new InvalidInput('name either --newsletter <list> or --org <org>', '--newsletter');
  const list = await (
    await f.backend()
  ).adminRecipients({
    ...(opts.newsletter !== undefined ? { newsletter: opts.newsletter } : {}),
    ...(opts.org !== undefined ? { org: opts.org } : {}),
  });
  if (opts.format === 'csv') {
    // Streamed line by line: a list of every subscriber can be long.
    for (const line of csvLines(
      ['username', 'email', 'format'],
      list.recipients.map((r) => [r.username, r.email, r.format]),
    ))
      await f.io.stream(line);
    return;
  }
  if (opts.format === 'json' || f.globals.json) {
    f.io.json(list);
    return;
  }
  if (list.recipients.length === 0) {
    f.io.out('No recipients.');
    return;
  }
  f.io.out(
    table(
      list.recipients.map((r) => [r.username, r.email, r.format]),
      ['USERNAME', 'EMAIL', 'FORMAT'],
    ),
  );
}
