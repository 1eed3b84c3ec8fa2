import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Conflict, Forbidden } from '../errors.js';
import type { BootstrapGate } from './server.js';

// The bootstrap of a server with no account (issue #14). Over HTTP, `init` creates an admin: on an
// empty server anyone who reached the port first would own it. So `acctsec serve` writes a one-time
// secret to a file only the operator can read (0600, beside the database), and `init` over HTTP must
// carry it; the first successful init spends it and deletes the file. `acctsec init --db` on the
// server's own host needs no secret: whoever can write the database file owns it anyway.

/** The secret's file: beside the database, named after it. */
export function bootstrapSecretPath(dbPath: string): string {
  return `${dbPath}.bootstrap-secret`;
}

const digest = (s: string) => createHash('sha256').update(s.trim()).digest();

/**
 * `hasAccounts`: the database already has its first account (then no secret is made, and a stale
 * file is removed). `log` is told where the file is, never the secret.
 */
export function createBootstrap(dbPath: string, hasAccounts: boolean, log: (line: string) => void): BootstrapGate {
  const file = bootstrapSecretPath(dbPath);
  let expected: Buffer | undefined;
  if (hasAccounts) rmSync(file, { force: true });
  else {
    const secret = randomBytes(32).toString('base64url');
    const dir = dirname(dbPath);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(file, { force: true });
    // Created 0600 from its first byte ('wx': never through a link someone left in its place).
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${secret}\n`);
    } finally {
      closeSync(fd);
    }
    expected = digest(secret);
    log(
      `this server has no account yet: its one-time bootstrap secret is in ${file} (mode 0600). ` +
        'Set it up with `acctsec --remote URL init --bootstrap-secret-file FILE` (a copy of that file), or `acctsec init --db DB` on this host.',
    );
  }
  return {
    admit(secret) {
      // The service's own words for it, so local and remote answers are the same.
      if (!expected) throw new Conflict('this database already has accounts; `acctsec login` instead');
      // Hashes of equal length, compared in constant time.
      if (typeof secret !== 'string' || !timingSafeEqual(digest(secret), expected)) {
        throw new Forbidden(
          'setting up a server over HTTP needs its one-time bootstrap secret: its operator finds it beside the database (DB.bootstrap-secret) ' +
            'and passes it with --bootstrap-secret-file FILE or ACCTSEC_BOOTSTRAP_SECRET, or runs `acctsec init --db DB` on the server',
          'bootstrap_required',
        );
      }
    },
    spent() {
      expected = undefined;
      rmSync(file, { force: true });
    },
  };
}
