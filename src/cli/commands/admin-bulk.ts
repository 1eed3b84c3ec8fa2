import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
  type ReadStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { Conflict, InvalidInput } from '../../errors.js';
import { IMPORT_BATCH_ROWS, IMPORT_MAIL_BATCH_ROWS, type ImportRow } from '../../schemas.js';
import type { ImportBatchResult, InvalidImportRow } from '../../views.js';
import type { Factory } from '../factory.js';

// `admin users import` and `admin users export` (issue #19 §4). The file is copied once into a
// private temporary file, which is read as a stream, twice: the first pass has every row judged by the back end (a dry run: nothing written) so that an
// invalid row refuses the whole import before anything changes; the second sends the rows in batches,
// each created in one transaction, locally or by one request to `serve` per batch. Memory stays flat:
// one batch of rows at a time, plus the names reported back (existing, invalid).

/** What one string field of a row may hold; the route's schema refuses longer ones for the whole batch. */
const FIELD_MAX = 320;
/** A batch's rows as JSON stay under this, so one batch is one request under the server's 64 KiB body limit. */
const BATCH_BYTES = 56 * 1024;
/** Plain progress lines (stderr not a terminal) at most this often. */
const PLAIN_PROGRESS_MS = 5_000;

type Format = 'csv' | 'jsonl';
type Parsed = { row: ImportRow } | { invalid: InvalidImportRow };

interface ImportOptions {
  f: Factory;
  file: string;
  reason?: string | undefined;
  dryRun?: boolean | undefined;
  tokensTo?: string | undefined;
  skipInvalid?: boolean | undefined;
  fromLine?: number | undefined;
  format?: Format | undefined;
}

export interface ImportSummary {
  file: string;
  dryRun: boolean;
  fromLine: number;
  /** Rows read from the file (from --from-line on). */
  rows: number;
  created: number;
  existing: number;
  existingUsernames: string[];
  invalid: InvalidImportRow[];
  /** Invalid rows left out under --skip-invalid. */
  skipped: number;
  batches: number;
  tokensFile?: string;
  tokensExpireAt?: string;
  mailed?: number;
  undelivered?: string[];
  seconds: number;
  accountsPerSecond: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d{1,9}$/.test(value) || n < 1) throw new InvalidArgumentError(`"${value}" is not a line number (1 or more)`);
  return n;
}

export function addBulkCommands(users: Command, f: Factory): void {
  users
    .command('import')
    .description(
      'create many accounts from a CSV (header username,email[,role]) or JSONL file; each gets a single-use reset token valid 7 days, mailed (at most 50 a second) or written to --tokens-to',
    )
    .argument('<file>', 'a .csv or .jsonl file, or - for stdin (with --format)')
    .option('--reason <text>', 'why: required, recorded in the audit log')
    .option('--dry-run', 'judge every row and report what would be created; change nothing')
    .option('--tokens-to <file>', 'write username,token lines to this new file (mode 0600) instead of mailing them')
    .option('--skip-invalid', 'import the valid rows and report the invalid ones (default: refuse the whole import)')
    .option('--from-line <n>', 'start at this line of the file (to resume an import that stopped)', positiveInt)
    .addOption(
      new Option('--format <format>', 'the file format (default: from the extension)').choices(['csv', 'jsonl']),
    )
    .action((file: string, o: Omit<ImportOptions, 'f' | 'file'>) => adminUsersImportRun({ f, file, ...o }));
  users
    .command('export')
    .description('every account: username, email, role, created, locked, MFA methods (no secret, no hash), streamed')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl']).default('csv'))
    .option('--output <file>', 'write to this new file (mode 0600) instead of stdout')
    .addOption(new Option('--role <role>', 'only this role').choices(['user', 'support', 'admin']))
    .action((o: { format: Format; output?: string; role?: string }) => adminUsersExportRun({ f, ...o }));
}

function formatOf(file: string, given: Format | undefined): Format {
  if (given) return given;
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new InvalidInput(
    `cannot tell the format of "${file}": name it .csv or .jsonl, or pass --format csv|jsonl`,
    '--format',
  );
}

const shown = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** A row's fields, judged for shape only (the back end judges the values). */
function shape(line: number, fields: Record<string, unknown>, raw: string): Parsed {
  for (const key of Object.keys(fields)) {
    if (key !== 'username' && key !== 'email' && key !== 'role')
      return { invalid: { line, value: shown(raw), reason: `unknown field "${key}": use username, email, role` } };
  }
  const { username, email, role } = fields;
  for (const [name, v] of [
    ['username', username],
    ['email', email],
  ] as const) {
    if (typeof v !== 'string' || v.trim() === '')
      return { invalid: { line, value: shown(raw), reason: `the ${name} is missing` } };
  }
  if (role !== undefined && role !== null && typeof role !== 'string')
    return { invalid: { line, value: shown(raw), reason: 'the role must be text: user, support or admin' } };
  for (const v of [username, email, role] as unknown[]) {
    if (typeof v === 'string' && v.length > FIELD_MAX)
      return { invalid: { line, value: shown(v), reason: `longer than ${FIELD_MAX} characters` } };
  }
  const row: ImportRow = { line, username: username as string, email: email as string };
  if (typeof role === 'string' && role.trim() !== '') row.role = role;
  return { row };
}

/** The rows of a file, streamed, with their line numbers; lines before `fromLine` are skipped. */
async function* readRows(
  path: string,
  label: string,
  format: Format,
  fromLine: number,
  onStream: (s: ReadStream) => void,
): AsyncGenerator<Parsed> {
  const input = createReadStream(path);
  onStream(input);
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (line < fromLine || text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield { invalid: { line, value: shown(text), reason: 'not a JSON object: {"username": ..., "email": ...}' } };
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        yield { invalid: { line, value: shown(text), reason: 'not a JSON object: {"username": ..., "email": ...}' } };
      else yield shape(line, value as Record<string, unknown>, text);
    }
    return;
  }
  const { parse } = await import('csv-parse');
  const parser = input.pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }),
  );
  let columns: string[] | undefined;
  let end = 0;
  let empty = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number; empty_lines: number };
    }>) {
      // Where the record began: after the previous one and the empty lines skipped since.
      const line = end + 1 + (info.empty_lines - empty);
      end = info.lines;
      empty = info.empty_lines;
      if (!columns) {
        columns = record.map((c) => c.toLowerCase());
        const unknown = columns.find((c) => !['username', 'email', 'role'].includes(c));
        if (unknown !== undefined || !columns.includes('username') || !columns.includes('email'))
          throw new InvalidInput(
            `line ${line} of ${label}: the header must name the columns username,email[,role]${unknown !== undefined ? `, not "${shown(unknown)}"` : ''}`,
            'file',
          );
        continue;
      }
      if (line < fromLine) continue;
      // A row may leave out a trailing role (the default, user); no other field.
      const given = columns.slice(0, record.length);
      if (record.length > columns.length || !given.includes('username') || !given.includes('email')) {
        yield {
          invalid: {
            line,
            value: shown(record.join(',')),
            reason: `${record.length} fields where the header names ${columns.length} (${columns.join(',')})`,
          },
        };
        continue;
      }
      yield shape(line, Object.fromEntries(given.map((c, i) => [c, record[i]])), record.join(','));
    }
  } catch (err) {
    if (err instanceof InvalidInput) throw err;
    // csv-parse's own message names the line ("Invalid Closing Quote: ... at line 7").
    throw new InvalidInput(`${label} is not valid CSV: ${(err as Error).message}`, 'file');
  }
  if (!columns)
    throw new InvalidInput(`${label} is empty: the first line must be the header username,email[,role]`, 'file');
}

interface Batch {
  rows: ImportRow[];
  /** Invalid rows found while reading this batch (shape), in file order. */
  invalid: InvalidImportRow[];
  firstLine: number;
}

/** Batches of at most `maxRows` rows and BATCH_BYTES of JSON. */
async function* batches(rows: AsyncIterable<Parsed>, maxRows = IMPORT_BATCH_ROWS): AsyncGenerator<Batch> {
  let batch: Batch | undefined;
  let bytes = 0;
  for await (const r of rows) {
    const line = 'row' in r ? r.row.line : r.invalid.line;
    batch ??= { rows: [], invalid: [], firstLine: line };
    if ('invalid' in r) {
      batch.invalid.push(r.invalid);
      continue;
    }
    const size = Buffer.byteLength(JSON.stringify(r.row)) + 1;
    if (batch.rows.length > 0 && (batch.rows.length >= maxRows || bytes + size > BATCH_BYTES)) {
      yield batch;
      batch = { rows: [], invalid: [], firstLine: line };
      bytes = 0;
    }
    batch.rows.push(r.row);
    bytes += size;
  }
  if (batch) yield batch;
}

function bar(fraction: number, text: string): string {
  const width = 30;
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${Math.floor(fraction * 100)
    .toString()
    .padStart(3)}% ${text}`;
}

export async function adminUsersImportRun(opts: ImportOptions): Promise<void> {
  const { f } = opts;
  if (!opts.reason?.trim())
    throw new InvalidInput('every admin action needs --reason "why" (recorded in the audit log)', '--reason');
  const format = formatOf(opts.file, opts.format);
  if (!opts.dryRun && !f.globals.yes && !f.prompter.interactive)
    throw new InvalidInput('confirm with --yes to import accounts (or --dry-run to see what would change)', '--yes');
  if (opts.tokensTo && !opts.dryRun && existsSync(opts.tokensTo))
    throw new Conflict(`${opts.tokensTo} already exists: --tokens-to writes a new file, and never overwrites one`);
  let tempDir: string | undefined;
  try {
    // The input is read once, into a private temporary file that both passes read: the rows imported
    // are the rows checked, even if the file changes meanwhile, and a pipe (stdin, `<(...)`, a FIFO)
    // works like a file (issue #19 review).
    let source: NodeJS.ReadableStream;
    if (opts.file === '-') source = process.stdin;
    else {
      const st = statSync(opts.file, { throwIfNoEntry: false });
      if (!st) throw new InvalidInput(`no file "${opts.file}" to import`, 'file');
      if (st.isDirectory()) throw new InvalidInput(`"${opts.file}" is a folder, not a file to import`, 'file');
      source = createReadStream(opts.file);
    }
    tempDir = mkdtempSync(join(tmpdir(), 'acctsec-import-'));
    const path = join(tempDir, `rows.${format}`);
    try {
      await pipeline(source, createWriteStream(path, { mode: 0o600 }));
    } catch (err) {
      throw new InvalidInput(`cannot read "${opts.file}": ${(err as Error).message}`, 'file');
    }
    await importFrom(opts, path, format);
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

async function importFrom(opts: ImportOptions, path: string, format: Format): Promise<void> {
  const { f } = opts;
  const label = opts.file === '-' ? 'stdin' : basename(opts.file);
  const fromLine = opts.fromLine ?? 1;
  const backend = await f.backend();
  const reason = opts.reason!;
  const size = Math.max(1, statSync(path).size);
  const started = performance.now();

  let stream: ReadStream | undefined;
  let lastPlain = performance.now();
  let lastBar = 0;
  const progress = (pass: string, line: number, created: number, final = false) => {
    if (f.globals.quiet) return;
    const fraction = (stream?.bytesRead ?? 0) / size;
    const rate = Math.round(created / Math.max(0.001, (performance.now() - started) / 1000));
    if (f.io.stderrIsTTY) {
      if (!final && performance.now() - lastBar < 100) return;
      lastBar = performance.now();
      f.io.progress(bar(fraction, `${pass}: line ${line}${created ? `, ${created} created (${rate}/s)` : ''}`));
      if (final) f.io.progress(null);
    } else if (!final && performance.now() - lastPlain >= PLAIN_PROGRESS_MS) {
      lastPlain = performance.now();
      f.io.note(
        `${pass}: line ${line} of ${label} (${Math.floor(fraction * 100)}%)${created ? `, ${created} accounts created, ${rate}/s` : ''}`,
      );
    }
  };
  const rows = () =>
    readRows(path, label, format, fromLine, (s) => {
      stream = s;
    });

  // Pass 1: every row judged, nothing written.
  const check = { rows: 0, created: 0, existing: [] as string[], invalid: [] as InvalidImportRow[], batches: 0 };
  let lastLine = fromLine;
  for await (const b of batches(rows())) {
    check.invalid.push(...b.invalid);
    check.rows += b.rows.length + b.invalid.length;
    check.batches++;
    if (b.rows.length > 0) {
      const r = await backend.adminImportUsers({ reason, dryRun: true, rows: b.rows });
      check.created += r.created;
      check.existing.push(...r.existing);
      check.invalid.push(...r.invalid);
      lastLine = b.rows.at(-1)!.line;
    }
    progress('checking', lastLine, 0);
  }
  progress('checking', lastLine, 0, true);
  check.invalid.sort((a, b) => a.line - b.line);

  const summary = (r: Partial<ImportSummary>): ImportSummary => {
    const seconds = (performance.now() - started) / 1000;
    const created = r.created ?? 0;
    return {
      file: opts.file,
      dryRun: Boolean(opts.dryRun),
      fromLine,
      rows: check.rows,
      created,
      existing: check.existing.length,
      existingUsernames: check.existing,
      invalid: check.invalid,
      skipped: opts.skipInvalid ? check.invalid.length : 0,
      batches: check.batches,
      ...r,
      seconds: Math.round(seconds * 100) / 100,
      accountsPerSecond: Math.round(created / Math.max(seconds, 0.001)),
    };
  };

  if (check.invalid.length > 0 && !opts.skipInvalid) {
    if (check.invalid.length > 1)
      for (const i of check.invalid.slice(0, 100))
        f.io.warn(`line ${i.line}: ${i.reason} (${JSON.stringify(i.value)})`);
    if (check.invalid.length > 100) f.io.warn(`... and ${check.invalid.length - 100} more invalid rows`);
    const first = check.invalid[0]!;
    const n = check.invalid.length;
    throw new InvalidInput(
      `${n === 1 ? `line ${first.line} of ${label} is invalid` : `${n} rows of ${label} are invalid (first: line ${first.line})`}: ${first.reason} (${JSON.stringify(first.value)}); nothing was imported (fix them, or pass --skip-invalid to import the valid rows)`,
      'file',
    );
  }
  if (opts.dryRun) {
    report(f, summary({ created: check.created }), label);
    return;
  }
  if (check.created === 0) {
    report(f, summary({ created: 0 }), label);
    return;
  }
  if (!f.globals.yes) {
    if (!(await f.prompter.confirm(`Create ${check.created} accounts from ${label}?`, '--yes', false))) {
      f.io.note('Nothing changed.');
      return;
    }
  }

  // Pass 2: the batches, each in one transaction.
  let tokens: number | undefined;
  if (opts.tokensTo) {
    try {
      tokens = openSync(opts.tokensTo, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new Conflict(`${opts.tokensTo} already exists: --tokens-to writes a new file, and never overwrites one`);
      throw new InvalidInput(`cannot create ${opts.tokensTo}: ${(err as Error).message}`, '--tokens-to');
    }
  }
  const done = {
    created: 0,
    batches: 0,
    existing: [] as string[],
    mailed: 0,
    undelivered: [] as string[],
    tokensExpireAt: undefined as string | undefined,
  };
  let pending: Batch | undefined;
  let importId: string | undefined;
  const send = async (b: Batch, last: boolean) => {
    let r: ImportBatchResult;
    try {
      r = await backend.adminImportUsers({
        reason,
        ...(importId !== undefined ? { importId } : {}),
        rows: b.rows,
        skipInvalid: Boolean(opts.skipInvalid),
        returnTokens: tokens !== undefined,
        ...(last
          ? {
              finish: {
                file: label.slice(0, 300),
                fromLine,
                lines: check.rows,
                existing: check.existing.length,
                invalid: check.invalid.length,
                batches: done.batches + 1,
              },
            }
          : {}),
      });
    } catch (err) {
      f.io.warn(
        `the import stopped at line ${b.firstLine} of ${label}: every row before it is imported (${done.created} accounts created), nothing from line ${b.firstLine} on. Resume with --from-line ${b.firstLine}${opts.tokensTo ? ' and a new --tokens-to file (the tokens so far are in ' + opts.tokensTo + ')' : ''}`,
      );
      throw err;
    }
    if (tokens !== undefined && r.tokens) {
      if (r.tokens.length > 0) writeSync(tokens, r.tokens.map((t) => `${t.username},${t.token}\n`).join(''));
      fsyncSync(tokens);
    }
    importId ??= r.importId;
    done.created += r.created;
    done.existing.push(...r.existing);
    done.batches++;
    done.mailed += r.mailed ?? 0;
    done.undelivered.push(...(r.undelivered ?? []));
    done.tokensExpireAt = r.tokensExpireAt ?? done.tokensExpireAt;
    progress('importing', b.rows.at(-1)?.line ?? b.firstLine, done.created);
  };
  try {
    // Mailed tokens go out within each batch's request: smaller batches keep each request short.
    for await (const b of batches(rows(), tokens === undefined ? IMPORT_MAIL_BATCH_ROWS : IMPORT_BATCH_ROWS)) {
      if (pending) await send(pending, false);
      pending = b;
    }
    if (pending) await send(pending, true);
    progress('importing', lastLine, done.created, true);
  } finally {
    if (tokens !== undefined) closeSync(tokens);
  }
  for (const u of done.undelivered.slice(0, 20))
    f.io.warn(
      `the reset token of ${u} could not be mailed and is void: hand one over with acctsec admin reset-password ${u} --print-token`,
    );
  report(
    f,
    summary({
      created: done.created,
      existing: done.existing.length,
      existingUsernames: done.existing,
      batches: done.batches,
      ...(opts.tokensTo ? { tokensFile: opts.tokensTo } : { mailed: done.mailed, undelivered: done.undelivered }),
      ...(done.tokensExpireAt ? { tokensExpireAt: done.tokensExpireAt } : {}),
    }),
    label,
  );
}

function report(f: Factory, s: ImportSummary, label: string): void {
  if (f.globals.json) {
    f.io.json(s);
    return;
  }
  const verb = s.dryRun ? 'Would create' : 'Created';
  if (!s.dryRun && s.created === 0)
    f.io.out(`Nothing to create from ${label}: no account was created, nothing changed.`);
  else
    f.io.out(
      `${verb} ${s.created} account${s.created === 1 ? '' : 's'} from ${label}${s.dryRun ? ' (dry run: nothing changed)' : ` in ${s.batches} batch${s.batches === 1 ? '' : 'es'}, ${s.seconds} s (${s.accountsPerSecond} accounts/s)`}.`,
    );
  if (s.existing > 0)
    f.io.out(
      `${s.existing} username${s.existing === 1 ? '' : 's'} already had an account, left unchanged: ${s.existingUsernames.slice(0, 10).join(', ')}${s.existing > 10 ? ', ...' : ''}`,
    );
  if (s.invalid.length > 0) {
    f.io.out(
      `${s.invalid.length} invalid row${s.invalid.length === 1 ? '' : 's'} ${s.dryRun ? 'would be' : 'were'} skipped:`,
    );
    for (const i of s.invalid.slice(0, 20)) f.io.out(`  line ${i.line}: ${i.reason}`);
  }
  if (s.tokensFile)
    f.io.out(`Reset tokens (single use, valid until ${s.tokensExpireAt}) are in ${s.tokensFile} (mode 0600).`);
  else if (s.mailed !== undefined && s.created > 0) f.io.out(`Reset tokens mailed to ${s.mailed} account owners.`);
}

/**
 * RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. A field that a
 * spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage return: an email
 * address such as `=HYPERLINK(...)@example.com` is valid) gets a leading apostrophe, as OWASP advises
 * against CSV injection: support staff open these files. JSONL keeps every value exactly.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export async function adminUsersExportRun(opts: {
  f: Factory;
  format: Format;
  output?: string | undefined;
  role?: string | undefined;
}): Promise<void> {
  const { f } = opts;
  let write: (text: string) => Promise<void> = (text) => f.io.stream(text);
  let out: ReturnType<typeof createWriteStream> | undefined;
  if (opts.output && existsSync(opts.output))
    throw new Conflict(`${opts.output} already exists: --output writes a new file`);
  const backend = await f.backend();
  // The first account is asked for before anything is written: a refused export (not an admin, not
  // signed in) leaves no file behind and prints no CSV header (issue #19 review).
  const accounts = backend.adminExportUsers(opts.role)[Symbol.asyncIterator]();
  const first = await accounts.next();
  if (opts.output) {
    let fd: number;
    try {
      fd = openSync(opts.output, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new Conflict(`${opts.output} already exists: --output writes a new file`);
      throw new InvalidInput(`cannot create ${opts.output}: ${(err as Error).message}`, '--output');
    }
    const file = createWriteStream('', { fd });
    out = file;
    write = (text) =>
      new Promise<void>((resolve, reject) => {
        if (file.write(text + '\n')) resolve();
        else file.once('drain', resolve).once('error', reject);
      });
  }
  let n = 0;
  try {
    if (opts.format === 'csv') await write('username,email,role,created,locked,mfa');
    for (let item = first; !item.done; item = await accounts.next()) {
      const u = item.value;
      await write(
        opts.format === 'csv'
          ? [u.username, u.email, u.role, u.createdAt, u.locked ? 'yes' : 'no', u.mfa.join(' ')].map(csvField).join(',')
          : JSON.stringify(u),
      );
      n++;
    }
  } finally {
    await accounts.return?.();
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
  if (opts.output) f.io.note(`Exported ${n} account${n === 1 ? '' : 's'} to ${opts.output} (mode 0600).`);
}
