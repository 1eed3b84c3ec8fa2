import { Command, InvalidArgumentError } from 'commander';
import { isPostgresUrl, redactUrl, refusePasswordInFlag } from '../../database-url.js';
import { InvalidInput } from '../../errors.js';
import type { Factory } from '../factory.js';
import { keyPathFor } from '../paths.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function rateArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1_000_000)
    throw new InvalidArgumentError(`"${value}" is not a number from 1 to 1000000`);
  return n;
}

export function newCmdServe(f: Factory): Command {
  return new Command('serve')
    .description('run the JSON HTTP API over a local database, for `--remote` clients (stops on SIGTERM)')
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free one)', '127.0.0.1:7400')
    .option('--tls-cert <file>', 'PEM certificate: serve HTTPS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--public-url <url>',
      'origin browsers use to reach this server, for the security key page and the OAuth 2.0 / OpenID Connect provider under /oauth2, which runs only when this is given (default: http(s)://localhost:PORT on a loopback address)',
    )
    .option('--trust-proxy <cidr>', 'believe X-Forwarded-For from proxies in this range (repeat)', collect, [])
    .option(
      '--introspection-rate <n>',
      'token introspection calls per second per calling credential (bursts of twice as many)',
      rateArg,
      1000,
    )
    .option(
      '--database <url>',
      'store in PostgreSQL at this postgres:// URL instead of a SQLite file (env ACCTSEC_DATABASE_URL; no password here: use PGPASSWORD or ~/.pgpass)',
    )
    .option(
      '--create',
      'create an empty database when there is none at --db or --database (then `init` over HTTP with the bootstrap secret)',
    )
    .addHelpText(
      'after',
      "\nThe database is --database or ACCTSEC_DATABASE_URL (PostgreSQL), else --db (or ACCTSEC_DB, or the profile's db);" +
        "\npolicy and mail settings come from this profile's config. Several instances may serve one PostgreSQL database" +
        '\n(they need the same key: ACCTSEC_ENCRYPTION_KEY, or a copy of its key file); see docs/postgres.md.' +
        '\nA missing database is refused: create it with `acctsec init --db DB` on this host, or start with --create.' +
        '\nThe database file is watched: when it is removed or replaced while serve runs, every request gets 503 (restart serve).' +
        '\nOn a database with no account yet, serve writes a one-time bootstrap secret to DB.bootstrap-secret (mode 0600):' +
        '\n`init` over HTTP needs it (--bootstrap-secret-file or ACCTSEC_BOOTSTRAP_SECRET); `acctsec init --db DB` on this host does not.' +
        '\nOn SIGTERM or SIGINT serve stops listening, finishes the requests in flight and answers them with Connection: close;' +
        '\nan idle keep-alive connection may bring one more request within 0.5 s, then is closed without a reset (a request' +
        '\nthat crosses the close is not run, and may be sent again). Then it exits 0.',
    )
    .action(
      (o: {
        listen: string;
        tlsCert?: string;
        tlsKey?: string;
        trustProxy: string[];
        publicUrl?: string;
        introspectionRate: number;
        database?: string;
        create?: boolean;
      }) => serveRun({ f, ...o }),
    );
}

export async function serveRun(opts: {
  f: Factory;
  listen: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  trustProxy: string[];
  publicUrl?: string | undefined;
  introspectionRate?: number | undefined;
  database?: string | undefined;
  create?: boolean | undefined;
}): Promise<void> {
  const { f } = opts;
  let store = await f.storeOptions();
  if (opts.database !== undefined) {
    if (!isPostgresUrl(opts.database))
      throw new InvalidInput(
        `invalid --database "${redactUrl(opts.database)}": use a postgres:// URL, e.g. postgres://acctsec@db.example.com/acctsec?sslmode=verify-full (a SQLite file is --db)`,
        '--database',
      );
    refusePasswordInFlag(opts.database, '--database');
    store = { ...store, dbPath: opts.database, keyPath: keyPathFor(opts.database) };
  }
  const { serve } = await import('../../server/serve.js');
  await serve({
    store,
    listen: opts.listen,
    tlsCert: opts.tlsCert,
    tlsKey: opts.tlsKey,
    trustProxy: opts.trustProxy,
    publicUrl: opts.publicUrl,
    introspectionRate: opts.introspectionRate,
    create: opts.create,
    onListening: (url) => f.io.out(`acctsec serve listening on ${url} (database ${redactUrl(store.dbPath)})`),
    log: (line) => f.io.note(line),
  });
}
