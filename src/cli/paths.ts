import { homedir } from 'node:os';
import { join } from 'node:path';

// XDG base directories (freedesktop.org): data (the database and its key) and state (logs, outbox).

function xdg(variable: string, fallback: string): string {
  const value = process.env[variable];
  return value && value.startsWith('/') ? value : join(homedir(), fallback);
}

export function defaultDbPath(): string {
  return join(xdg('XDG_DATA_HOME', '.local/share'), 'acctsec', 'acctsec.db');
}

/**
 * The at-rest encryption key sits beside its database, in a separate file (mode 0600). A PostgreSQL
 * database has no file to sit beside: its key is postgres.key in the data folder (every instance on
 * the database needs the same key: copy the file, or give each ACCTSEC_ENCRYPTION_KEY).
 */
export function keyPathFor(dbPath: string): string {
  if (/^postgres(?:ql)?:\/\//i.test(dbPath))
    return join(xdg('XDG_DATA_HOME', '.local/share'), 'acctsec', 'postgres.key');
  return `${dbPath}.key`;
}

/** Where messages go when no SMTP server is configured: one .eml file each (mode 0600). */
export function outboxDir(): string {
  return join(xdg('XDG_STATE_HOME', '.local/state'), 'acctsec', 'outbox');
}
