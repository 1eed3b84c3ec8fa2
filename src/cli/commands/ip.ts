import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { Forbidden, InvalidInput } from '../../errors.js';
import type { IpChange, IpChangeOptions, IpEntryInput } from '../../views.js';
import type { Factory } from '../factory.js';
import { localTime, table } from '../format.js';
import {
  identityOptions,
  readStdinLines,
  sendIdentityCodeIfAsked,
  withIdentity,
  type IdentityFlags,
} from '../secrets.js';

interface ChangeFlags extends IdentityFlags {
  file?: string;
  allowPrivate?: boolean;
  force?: boolean;
  currentIp?: string;
}

function changeOptions(cmd: Command, withFile: boolean): Command {
  if (withFile) cmd.option('-f, --file <file>', 'read entries from a file, one per line (# comments; - for stdin)');
  return identityOptions(
    cmd
      .option('--allow-private', 'accept private, loopback, link-local and other non-public ranges')
      .option('--force', 'make the change even if it locks out your current address')
      .option('--current-ip <address>', 'your current address, for the lock-out guard (the server knows it itself)'),
  );
}

/**
 * A file line's comment that starts with this mark is --allow-private for that line alone: `ip list
 * --plain` writes it after the entries that needed the flag, so the list round-trips through `ip set -f`.
 */
const ALLOW_PRIVATE_MARK = '# allow-private';

export function newCmdIp(f: Factory): Command {
  const cmd = new Command('ip').description('IP restriction: the addresses and networks my account may be used from');
  cmd
    .command('list')
    .description('the allow-list (empty: no restriction)')
    .option('--plain', 'one entry per line, as `ip set -f` reads it (non-public ones marked # allow-private)')
    .action((o: { plain?: boolean }) => ipListRun({ f, plain: Boolean(o.plain) }));
  changeOptions(
    cmd.command('add').description('add addresses or CIDR ranges (IPv4 and IPv6)').argument('[cidr...]'),
    true,
  ).action((cidrs: string[], o: ChangeFlags) => ipChangeRun(f, 'add', cidrs, o));
  changeOptions(cmd.command('remove').description('remove entries').argument('<cidr...>'), false).action(
    (cidrs: string[], o: ChangeFlags) => ipChangeRun(f, 'remove', cidrs, o),
  );
  changeOptions(cmd.command('set').description("replace the whole list with a file's entries, at once"), true).action(
    (o: ChangeFlags) => {
      if (!o.file) throw new InvalidInput('ip set needs -f FILE (one entry per line; - for stdin)', '--file');
      return ipChangeRun(f, 'set', [], o);
    },
  );
  identityOptions(cmd.command('clear').description('remove every entry: no restriction')).action((o: IdentityFlags) =>
    ipClearRun({ f, identity: o }),
  );
  cmd
    .command('check')
    .description('would this address be allowed? exit 0 if so, 7 if not')
    .argument('<address>')
    .action((address: string) => ipCheckRun({ f, address }));
  return cmd;
}

export async function ipListRun(opts: { f: Factory; plain: boolean }): Promise<void> {
  const { f } = opts;
  const entries = await (await f.backend()).listIp();
  if (f.globals.json) f.io.json(entries);
  else if (opts.plain) {
    for (const e of entries) f.io.out(e.nonPublic ? `${e.cidr}  ${ALLOW_PRIVATE_MARK}: ${e.nonPublic}` : e.cidr);
  } else if (entries.length === 0) f.io.note('No IP restriction: every address may be used.');
  else
    f.io.out(
      table(
        entries.map((e) => [e.cidr, `IPv${e.family}`, localTime(e.addedAt)]),
        ['ENTRY', 'FAMILY', 'ADDED'],
      ),
    );
}

/** Entries from the arguments and the file, each with where it came from for error messages. */
async function gather(args: string[], file: string | undefined): Promise<IpEntryInput[]> {
  const inputs: IpEntryInput[] = args.map((text, i) => ({ text, where: `argument ${i + 1}` }));
  if (file) {
    let lines: string[];
    try {
      lines = file === '-' ? await readStdinLines() : readFileSync(file, 'utf8').split(/\r?\n/);
    } catch (err) {
      throw new InvalidInput(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        '--file',
      );
    }
    lines.forEach((line, i) => {
      const comment = line.indexOf('#');
      const text = (comment < 0 ? line : line.slice(0, comment)).trim();
      const marked = comment >= 0 && /^# *allow-private\b/.test(line.slice(comment));
      if (text)
        inputs.push({
          text,
          where: `line ${i + 1} of ${file === '-' ? 'stdin' : file}`,
          ...(marked ? { allowPrivate: true } : {}),
        });
    });
  }
  return inputs;
}

function report(f: Factory, change: IpChange): void {
  for (const w of change.warnings) f.io.warn(w);
  for (const s of change.skipped) f.io.note(`${s.cidr}: ${s.reason}`);
  if (f.globals.json) {
    f.io.json(change);
    return;
  }
  if (change.added.length) f.io.out(`Added ${change.added.join(', ')}.`);
  if (change.removed.length) f.io.out(`Removed ${change.removed.join(', ')}.`);
  if (!change.added.length && !change.removed.length) f.io.out('Nothing changed.');
  f.io.out(
    change.entries.length
      ? `The list has ${change.entries.length} entr${change.entries.length === 1 ? 'y' : 'ies'}.`
      : 'The list is empty: no restriction.',
  );
}

async function ipChangeRun(f: Factory, kind: 'add' | 'remove' | 'set', cidrs: string[], o: ChangeFlags): Promise<void> {
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, o, `ip ${kind}`)) return;
  const entries = await gather(cidrs, o.file);
  if (
    kind === 'set' &&
    entries.length === 0 &&
    !(await confirmLifting(f, `ip set with no entries in ${o.file === '-' ? 'stdin' : o.file}`))
  )
    return;
  const options: IpChangeOptions = {
    allowPrivate: Boolean(o.allowPrivate),
    force: Boolean(o.force),
    currentIp: o.currentIp,
  };
  const change = await withIdentity(f, o, backend, (proof) =>
    kind === 'add'
      ? backend.addIp(entries, options, proof)
      : kind === 'remove'
        ? backend.removeIp(entries, options, proof)
        : backend.setIp(entries, options, proof),
  );
  report(f, change);
}

/**
 * Lifting the restriction loosens security: an explicit yes, like every destructive step (`ip clear`,
 * and `ip set` from an empty file). False when the user said no.
 */
async function confirmLifting(f: Factory, what: string): Promise<boolean> {
  if (f.globals.yes) return true;
  if (!f.prompter.interactive)
    throw new InvalidInput(`${what} removes the IP restriction: confirm with --yes`, '--yes');
  if (await f.prompter.confirm('Remove every entry, so any address may be used?', '--yes', false)) return true;
  f.io.note('Nothing changed.');
  return false;
}

export async function ipClearRun(opts: { f: Factory; identity: IdentityFlags }): Promise<void> {
  const { f } = opts;
  const backend = await f.backend();
  if (await sendIdentityCodeIfAsked(f, backend, opts.identity, 'ip clear')) return;
  if (!(await confirmLifting(f, 'ip clear'))) return;
  report(f, await withIdentity(f, opts.identity, backend, (proof) => backend.clearIp(proof)));
}

export async function ipCheckRun(opts: { f: Factory; address: string }): Promise<void> {
  const { f } = opts;
  const result = await (await f.backend()).checkIp(opts.address);
  if (f.globals.json) f.io.json(result);
  else if (!result.restricted) f.io.out(`${result.address}: allowed (no IP restriction)`);
  else
    f.io.out(result.allowed ? `${result.address}: allowed by ${result.matchedBy}` : `${result.address}: not allowed`);
  // Exit 7 for a refused address, so scripts can branch on it (the answer is printed above).
  if (!result.allowed) throw new Forbidden(`${result.address} is outside the IP allow-list`);
}
