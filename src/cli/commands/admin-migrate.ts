import type { Command } from 'commander';
import { isPostgresUrl, redactUrl, refusePasswordInFlag } from '../../database-url.js';
import { AcctsecError, InvalidInput } from '../../errors.js';
import type { StoreMigration } from '../../views.js';
import type { Factory } from '../factory.js';
import { table } from '../format.js';
import { keyPathFor } from '../paths.js';

// `acctsec admin migrate-store` (issue #22): a SQLite database copied into an empty PostgreSQL one. It
// works on the two databases and the key file of this host, not through a Backend operation: a
// composition root (.dependency-cruiser.cjs), like serve.ts, which loads the service when it runs.

export function addMigrateStoreCommand(admin: Command, f: Factory): void {
  admin
    .command('migrate-store')
    .description(
      'copy a SQLite database into an empty PostgreSQL database (one transaction), then check the copy: rows per table and the audit chain',
    )
    .requiredOption('--from <sqlite:PATH>', 'the SQLite database file (sqlite:PATH or a plain path)')
    .option(
      '--to <postgres-url>',
      'the empty PostgreSQL database (env ACCTSEC_DATABASE_URL; no password here: use PGPASSWORD or ~/.pgpass)',
    )
    .option('--dry-run', 'check both sides and count the rows; copy nothing')
    .addHelpText(
      'after',
      '\nRuns on this host (never with --remote) and needs no sign-in: reading the file and its key is the authority.' +
        "\nThe source must be at this build's schema (run any acctsec command on it first) and its audit log must verify;" +
        '\nstop what writes to it (acctsec serve) first: rows written during the copy are not carried over.' +
        '\nThe target must hold no acctsec schema (exit 5 otherwise). The schema and every row are written in one' +
        '\ntransaction: on any failure the target is left as it was. The copy is then read back on a new connection:' +
        "\nrows and contents per table, and the audit chain, whose head must be the source's (exit 1 otherwise)." +
        "\nThe copy keeps the source's at-rest key (FILE.key beside it, or ACCTSEC_ENCRYPTION_KEY): the key file is copied" +
        '\nto postgres.key in the data folder (a different key there is refused), and every `serve --database` on the' +
        '\ncopy needs that same key.',
    )
    .action((o: { from: string; to?: string; dryRun?: boolean }) =>
      migrateStoreRun({ f, from: o.from, to: o.to, dryRun: Boolean(o.dryRun) }),
    );
}

/** `sqlite:PATH`, `sqlite://PATH` or a plain path → the path. */
export function sqlitePath(from: string): string {
  if (isPostgresUrl(from))
    throw new InvalidInput(
      `--from ${redactUrl(from)}: the source is a SQLite file (sqlite:PATH); the PostgreSQL database is --to`,
      '--from',
    );
  const path = from.replace(/^sqlite:(?:\/\/)?/i, '');
  if (path === '') throw new InvalidInput('--from needs a path: sqlite:PATH', '--from');
  return path;
}

export async function migrateStoreRun(opts: {
  f: Factory;
  from: string;
  to?: string | undefined;
  dryRun: boolean;
}): Promise<void> {
  const { f } = opts;
  if (await f.isRemote())
    throw new InvalidInput(
      "admin migrate-store works on this host's files, not through a server: run it where the SQLite file is, without --remote (or ACCTSEC_REMOTE, or the profile's remote)",
      '--remote',
    );
  const from = sqlitePath(opts.from);
  if (opts.to !== undefined) refusePasswordInFlag(opts.to, '--to');
  const to = opts.to ?? process.env.ACCTSEC_DATABASE_URL;
  if (!to) throw new InvalidInput('the PostgreSQL database is --to postgres://… (or ACCTSEC_DATABASE_URL)', '--to');
  if (!isPostgresUrl(to))
    throw new InvalidInput(
      `--to "${redactUrl(to)}" is not a postgres:// URL`,
      opts.to !== undefined ? '--to' : 'ACCTSEC_DATABASE_URL',
    );
  const { migrateStore } = await import('../../service/migrate-store.js');
  const result = migrateStore({
    from,
    to,
    envKey: process.env.ACCTSEC_ENCRYPTION_KEY,
    sourceKeyPath: keyPathFor(from),
    targetKeyPath: keyPathFor(to),
    dryRun: opts.dryRun,
  });
  if (f.globals.json) f.io.json(result);
  else print(f, result);
  if (result.verified === false)
    throw new AcctsecError(
      'copy_unverified',
      `the copy in ${result.to} does not match ${result.from}: ${result.problems[0]}; do not serve it (drop its schema and run again)`,
      1,
    );
}

function print(f: Factory, r: StoreMigration): void {
  const dry = r.dryRun;
  f.io.out(
    dry
      ? `Dry run: ${r.from} (schema ${r.schemaVersion}) would be copied into ${r.to}, which is empty; nothing was changed.`
      : `Copied ${r.from} (schema ${r.schemaVersion}) into ${r.to} in ${r.seconds} s.`,
  );
  f.io.out('');
  const rows = r.tables.map((t) => (dry ? [t.table, String(t.rows)] : [t.table, String(t.rows), String(t.copied)]));
  const copied = r.tables.reduce((n, t) => n + (t.copied ?? 0), 0);
  rows.push(dry ? ['total', String(r.rows)] : ['total', String(r.rows), String(copied)]);
  f.io.out(table(rows, dry ? ['TABLE', 'ROWS'] : ['TABLE', 'ROWS', 'COPIED']));
  f.io.out('');
  const head = r.audit.head ?? 'none (empty log)';
  if (dry) f.io.out(`Audit log: ${r.audit.rows} rows, chain intact; head ${head}.`);
  else if (r.verified)
    f.io.out(
      `Verified: every table has the source's rows (counts and contents), and the copy's audit log holds: ${r.audit.copy!.rows} rows, head ${head}, the same as the source's.`,
    );
  else for (const p of r.problems) f.io.out(`NOT VERIFIED: ${p}`);
  f.io.out('');
  const file = r.key.file;
  if (file === null)
    f.io.out(
      'Key: the copy uses the at-rest key of ACCTSEC_ENCRYPTION_KEY: set the same ACCTSEC_ENCRYPTION_KEY for every `acctsec serve --database` on it.',
    );
  else {
    const what =
      r.key.fileState === 'written'
        ? `was copied to ${file}`
        : r.key.fileState === 'same'
          ? `is already in ${file}`
          : `would be copied to ${file}`;
    f.io.out(
      `Key: the at-rest key (${r.key.source}) ${what}; every \`acctsec serve --database\` on the copy needs this same key (copy the file to each host, mode 0600, or set ACCTSEC_ENCRYPTION_KEY).`,
    );
  }
  if (!dry && r.verified) {
    f.io.out(
      'Next: acctsec serve --database URL (URL with no password: PGPASSWORD or ~/.pgpass), or ACCTSEC_DATABASE_URL=URL acctsec ...',
    );
  }
}
