import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Backend } from '../backend/backend.js';
import type { ProfileStore } from '../config/profiles.js';
import type { LocalStoreOptions } from '../backend/local.js';
import type { KeyPageHost } from './key-page-host.js';
import { AuthFailed } from '../errors.js';
import { createIO, type IO } from './io.js';
import { isPostgresUrl, refusePasswordInFlag, shownLocation } from '../database-url.js';
import { defaultDbPath, keyPathFor, outboxDir } from './paths.js';
import { createPrompter, type Prompter } from './prompts.js';

/** package.json's version, written in by the build (scripts/build.js). */
declare const ACCTSEC_VERSION: string;

/** SPEC §1 global options, as commander parsed them. */
export interface GlobalOptions {
  json: boolean;
  input: boolean;
  yes: boolean;
  profile?: string;
  db?: string;
  remote?: string;
  insecureHttp?: boolean;
  color: boolean;
  quiet: boolean;
}

/**
 * What a command needs, built lazily (cli/cli's factory): the config file, the prompt library and the
 * back end are loaded by the first command that asks for them, so --help and --version stay fast.
 */
export interface Factory {
  readonly globals: GlobalOptions;
  readonly io: IO;
  readonly prompter: Prompter;
  profiles(): Promise<ProfileStore>;
  /** The back end with the profile's session, if any. */
  backend(): Promise<Backend>;
  /** The back end with a given session token (login replaces the profile's session). */
  backendWith(sessionToken: string | undefined): Promise<Backend>;
  /** True when commands go to `acctsec serve` (--remote, ACCTSEC_REMOTE or the profile's remote). */
  isRemote(): Promise<boolean>;
  /** The local database, key, policy and mail settings of this profile (`serve` runs over them). */
  storeOptions(): Promise<LocalStoreOptions>;
  /**
   * "Not signed in" and "session expired" as the back end says them ("run `acctsec login`"), told for
   * this run: the profile and the server to sign in to again (people only: with --json the message stays
   * the same locally and remotely), or, on a first run with no database,
   * `acctsec init` (issue #20 §6).
   */
  explainSignIn(message: string, json?: boolean): Promise<string>;
  /**
   * After a sign-in through --remote URL: the profile remembers the server (its `remote` setting), so
   * the next commands, and the hint after the session ends, go to the same one (issue #20 §6).
   * Returns the URL when the profile did not have it.
   */
  rememberServer(): Promise<string | undefined>;
  close(): Promise<void>;
}

export function createFactory(globals: GlobalOptions): Factory {
  const interactive = globals.input && Boolean(process.stdin.isTTY) && !process.env.CI;
  const io = createIO({ color: globals.color, quiet: globals.quiet });
  const prompter = createPrompter(interactive);
  let profiles: ProfileStore | undefined;
  const opened: Backend[] = [];

  async function loadProfiles(): Promise<ProfileStore> {
    if (!profiles) {
      const { ProfileStore } = await import('../config/profiles.js');
      profiles = new ProfileStore(globals.profile ?? process.env.ACCTSEC_PROFILE ?? 'default', (line) => io.warn(line));
    }
    return profiles;
  }

  async function dbPath(): Promise<string> {
    if (globals.db) {
      refusePasswordInFlag(globals.db, '--db');
      return globals.db;
    }
    // PostgreSQL (issue #22): the URL may carry a password here, in the environment, never in a flag.
    if (process.env.ACCTSEC_DATABASE_URL) return process.env.ACCTSEC_DATABASE_URL;
    if (process.env.ACCTSEC_DB) return process.env.ACCTSEC_DB;
    const configured = (await loadProfiles()).get('db');
    return typeof configured === 'string' ? configured : defaultDbPath();
  }

  /** The remote server this profile uses, if any: --remote, ACCTSEC_REMOTE, or the profile's `remote`. */
  async function remoteUrl(): Promise<string | undefined> {
    const configured = (await loadProfiles()).get('remote');
    // An empty ACCTSEC_REMOTE (ACCTSEC_REMOTE= acctsec ...) means "not set", as shells use it.
    return (
      globals.remote ??
      (process.env.ACCTSEC_REMOTE || undefined) ??
      (typeof configured === 'string' ? configured : undefined)
    );
  }

  async function location(): Promise<string> {
    return (await remoteUrl()) ?? shownLocation(await dbPath());
  }

  async function storeOptions(): Promise<LocalStoreOptions> {
    const store = await loadProfiles();
    const path = await dbPath();
    const smtp = store.get('mail.smtp');
    const from = store.get('mail.from');
    return {
      dbPath: path,
      keyPath: keyPathFor(path),
      envKey: process.env.ACCTSEC_ENCRYPTION_KEY,
      policy: store.policy(),
      mail: {
        smtp: typeof smtp === 'string' ? smtp : undefined,
        from: typeof from === 'string' ? from : 'acctsec <no-reply@localhost>',
        outboxDir: outboxDir(),
        // SPEC §4.2: stderr says where each message went.
        onDelivery: (d) =>
          io.note(
            d.via === 'outbox'
              ? `Mail to ${d.to.join(', ')} ("${d.subject}") written to ${d.path}`
              : `Mail to ${d.to.join(', ')} ("${d.subject}") sent through ${d.server}`,
          ),
        onFailure: (m, err) => io.warn(`could not send "${m.subject}" to ${m.to.join(', ')}: ${err.message}`),
      },
      log: (line) => io.warn(line),
    };
  }

  let keyPage: KeyPageHost | undefined;

  async function backendWith(sessionToken: string | undefined): Promise<Backend> {
    const store = await loadProfiles();
    const client = `acctsec/${ACCTSEC_VERSION} on ${hostname()} (profile ${store.profileName})`;
    const remote = await remoteUrl();
    let backend: Backend;
    if (remote) {
      const { createRemoteBackend } = await import('../backend/remote.js');
      // ACCTSEC_TOKEN: a script's personal access token, when the profile has no session (SPEC §10).
      backend = createRemoteBackend({
        url: remote,
        sessionToken,
        accessToken: sessionToken ? undefined : process.env.ACCTSEC_TOKEN,
        client,
        insecureHttp: globals.insecureHttp,
      });
    } else {
      const { createLocalBackend } = await import('../backend/local.js');
      // The loopback page for security keys starts on the first ceremony only.
      const relyingParty = async () => {
        keyPage ??= (await import('./key-page-host.js')).keyPageHost(storeOptions);
        return keyPage.relyingParty();
      };
      backend = createLocalBackend({ ...(await storeOptions()), sessionToken, client, relyingParty });
    }
    opened.push(backend);
    return backend;
  }

  return {
    globals,
    io,
    prompter,
    profiles: loadProfiles,
    backendWith,
    storeOptions,
    isRemote: async () => (await remoteUrl()) !== undefined,
    async rememberServer() {
      if (!globals.remote) return undefined;
      const store = await loadProfiles();
      if (store.get('remote') === globals.remote) return undefined;
      await store.set('remote', globals.remote);
      return globals.remote;
    },
    async explainSignIn(message, json = false) {
      const remote = await remoteUrl();
      if (!remote) {
        const path = await dbPath();
        if (!isPostgresUrl(path) && !existsSync(path))
          return `there is no acctsec database at ${path} yet: run \`acctsec init\` to create it with its first account (or use a server with --remote URL)`;
      }
      // A script reading --json gets the same message locally and remotely (SPEC §1); the hint is for people.
      if (json) return message;
      const name = globals.profile ?? process.env.ACCTSEC_PROFILE;
      const profile = name && name !== 'default' ? ` --profile ${name}` : '';
      // The server named, as the profile remembers it after a remote login; --remote when it does not.
      const remembered = remote !== undefined && (await loadProfiles()).get('remote') === remote;
      const command = `acctsec${remote && !remembered && !process.env.ACCTSEC_REMOTE ? ` --remote ${remote}` : ''}${profile} login`;
      return message.replace('run `acctsec login`', `run \`${command}\`${remote ? ` (server ${remote})` : ''}`);
    },
    async backend() {
      const store = await loadProfiles();
      const saved = store.session();
      const where = await location();
      // A token is only ever sent back to where it was issued.
      if (saved && saved.location !== where) {
        throw new AuthFailed(
          `this profile is signed in to ${saved.location}, not ${where}; run \`acctsec login\``,
          'not_signed_in',
        );
      }
      return backendWith(saved?.token);
    },
    async close() {
      await Promise.all(opened.map((b) => b.close()));
      await keyPage?.close();
    },
  };
}
