import { InvalidInput } from './errors.js';

// Where the store is: a SQLite file path, or a PostgreSQL connection URL (issue #22). Shared by the CLI
// (which refuses a password on its command line), the server and the store.

/** A postgres:// or postgresql:// connection URL (anything else is a SQLite file path). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** A query parameter's name as libpq reads it: percent-decoded (`pass%77ord` is `password`). */
function paramName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

const SECRET_PARAMS = new Set(['password', 'sslpassword']);

/** The query with every secret parameter's value masked (libpq takes a password and a key's passphrase there). */
function maskQuery(text: string): string {
  return text.replace(/([?&])([^=&#]*)=([^&#]*)/g, (whole, sep: string, name: string) =>
    SECRET_PARAMS.has(paramName(name)) ? `${sep}${name}=***` : whole,
  );
}

/** Whether the query carries a secret parameter, however its name is encoded. */
function queryHasSecret(text: string): boolean {
  for (const m of text.matchAll(/[?&]([^=&#]*)=/g)) if (SECRET_PARAMS.has(paramName(m[1]!))) return true;
  return false;
}

/** The URL without its password, to show (messages, logs). */
export function redactUrl(location: string): string {
  try {
    const url = new URL(location);
    if (url.password) url.password = '***';
    return maskQuery(url.toString());
  } catch {
    return maskQuery(location.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));
  }
}

/** Where the store is, as it may be shown and saved (a profile's session): a URL without its password. */
export function shownLocation(location: string): string {
  return isPostgresUrl(location) ? redactUrl(location) : location;
}

/** Whether the URL carries a password (refused on the command line: `ps` shows it to every user). */
export function urlHasPassword(location: string): boolean {
  try {
    return new URL(location).password !== '' || queryHasSecret(location);
  } catch {
    return /\/\/[^:/@]*:[^@/]*@/.test(location) || queryHasSecret(location);
  }
}

/** A database URL given as a command-line flag: a password in it would be shown by `ps` to every user. */
export function refusePasswordInFlag(location: string, flag: string): void {
  if (isPostgresUrl(location) && urlHasPassword(location))
    throw new InvalidInput(
      `${flag} ${redactUrl(location)}: a password on the command line is visible to every user of this machine; ` +
        'put the URL in ACCTSEC_DATABASE_URL, or the password in PGPASSWORD or ~/.pgpass',
      flag,
    );
}

/**
 * Why a connection to this URL may be read or redirected on the network, or undefined: libpq's default
 * sslmode is `prefer` (TLS if the server offers it, unchecked, and plain text if not), which protects
 * nothing against an attacker on the path. A unix socket or a loopback host needs nothing.
 */
export function weakTransport(location: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return undefined;
  }
  const host = url.searchParams.get('host') ?? (url.hostname || env.PGHOST || '');
  if (host === '' || host.startsWith('/') || ['localhost', '127.0.0.1', '[::1]', '::1'].includes(host))
    return undefined;
  const mode = url.searchParams.get('sslmode') ?? env.PGSSLMODE ?? 'prefer';
  if (mode === 'verify-full') return undefined;
  return `the database at ${host} is reached with sslmode=${mode}: its traffic (password hashes, sealed secrets) and the server's identity are not protected against the network; add sslmode=verify-full to the URL`;
}
