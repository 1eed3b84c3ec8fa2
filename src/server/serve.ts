import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../backend/backend.js';
import { openLocalStore, type LocalStoreOptions } from '../backend/local.js';
import ipaddr from 'ipaddr.js';
import { InvalidInput, NotFound, Unavailable } from '../errors.js';
import type { RelyingParty } from '../service/security-keys.js';
import { countAccounts } from '../store/accounts.js';
import { openStore } from '../store/db.js';
import { isPostgresUrl, redactUrl, weakTransport } from '../database-url.js';
import { bootstrapSecretPath, createBootstrap } from './bootstrap.js';
import { createOAuthHandler, OAUTH_PATH } from './oauth.js';
import { createApiServer } from './server.js';

// `acctsec serve`: the composition of the local store (the same service code as local mode) and the
// HTTP server, until SIGTERM or SIGINT, which finish the requests in flight before closing.

export interface ServeOptions {
  store: LocalStoreOptions;
  listen: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  trustProxy: string[];
  /** The origin browsers use for the security key page (SPEC §4.3); its host is the RP ID. */
  publicUrl?: string | undefined;
  /** Introspection calls per second per calling credential. */
  introspectionRate?: number | undefined;
  /**
   * Create an empty database when there is none at the path (its first account is then made with
   * `init` over HTTP and the bootstrap secret). Without it, a missing database is refused (issue #19).
   */
  create?: boolean | undefined;
  /** Told the URL once the server listens. */
  onListening(url: string): void;
  log: (line: string) => void;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new InvalidInput(
      `invalid --listen "${text}": use HOST:PORT, e.g. 127.0.0.1:7400 or [::1]:7400 (port 0 picks a free one)`,
      '--listen',
    );
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** Whether there is an acctsec database at the path (a file) or URL (a PostgreSQL schema). */
function storeExists(dbPath: string): boolean {
  if (!isPostgresUrl(dbPath)) return existsSync(dbPath);
  try {
    openStore(dbPath, { create: false, migrate: false }).close();
    return true;
  } catch (err) {
    if (err instanceof NotFound) return false;
    throw err;
  }
}

/** Whether the database exists and has its first account (else `serve` writes a bootstrap secret). */
function hasAccounts(dbPath: string): boolean {
  if (!storeExists(dbPath)) return false;
  // No migration here: the store opened below upgrades the file with the key at hand (audit log, 009).
  const db = openStore(dbPath, { create: false, migrate: false });
  try {
    return countAccounts(db) > 0;
  } finally {
    db.close();
  }
}

/**
 * The relying party of `--public-url`: WebAuthn binds keys to a domain (never an IP address) and runs
 * only in secure contexts, so http is for localhost alone.
 */
export function parsePublicUrl(text: string): RelyingParty {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInput(
      `invalid --public-url "${text}": use the origin browsers use, e.g. https://acctsec.example.com`,
      '--public-url',
    );
  }
  const host = url.hostname;
  if (
    !['http:', 'https:'].includes(url.protocol) ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash ||
    url.username
  ) {
    throw new InvalidInput(
      `invalid --public-url "${text}": an origin only (scheme, host, port), e.g. https://acctsec.example.com`,
      '--public-url',
    );
  }
  if (ipaddr.isValid(host.replace(/^\[|\]$/g, ''))) {
    throw new InvalidInput(
      `invalid --public-url "${text}": security keys are bound to a host name, not an IP address (use localhost or a domain)`,
      '--public-url',
    );
  }
  if (url.protocol === 'http:' && host !== 'localhost') {
    throw new InvalidInput(
      `invalid --public-url "${text}": browsers allow security keys over http only on localhost; use https`,
      '--public-url',
    );
  }
  return { rpId: host, origin: url.origin };
}

export async function serve(options: ServeOptions): Promise<void> {
  const { host, port } = parseListen(options.listen);
  let relyingParty: RelyingParty | undefined = options.publicUrl ? parsePublicUrl(options.publicUrl) : undefined;
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey))
    throw new InvalidInput('--tls-cert and --tls-key go together', '--tls-cert');
  const readPem = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InvalidInput(
        `cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        flag,
      );
    }
  };
  const tls =
    options.tlsCert && options.tlsKey
      ? { cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') }
      : undefined;
  const dbPath = options.store.dbPath;
  const postgres = isPostgresUrl(dbPath);
  // Files beside the database (the bootstrap secret); a PostgreSQL database has them beside its key.
  const anchor = postgres ? options.store.keyPath.replace(/\.key$/, '') : dbPath;
  const weak = postgres ? weakTransport(dbPath) : undefined;
  if (weak) options.log(`warning: ${weak}`);
  if (!storeExists(dbPath)) {
    if (!options.create)
      throw new NotFound(
        postgres
          ? `no acctsec schema in the database ${redactUrl(dbPath)}: start with --create to make it (then \`init\` over HTTP with its one-time bootstrap secret), or run \`acctsec init\` with ACCTSEC_DATABASE_URL set`
          : `no acctsec database at ${dbPath}: create it with its first admin with \`acctsec init --db ${dbPath}\` on this host, ` +
              'or start with --create to make an empty one, set up over HTTP with its one-time bootstrap secret',
        'no_database',
      );
    openStore(dbPath, { create: true }).close();
  }
  const bootstrap = createBootstrap(anchor, hasAccounts(dbPath), options.log);
  const store = openLocalStore({
    ...options.store,
    // Recovery QR codes open this server's approval page only where a phone can reach it (issue #20 §1).
    recoveryPageOrigin: options.publicUrl ? relyingParty?.origin : undefined,
    relyingParty: async () => {
      if (!relyingParty)
        throw new Unavailable(
          'this server has no --public-url, so it cannot serve the security key page; its operator must set one',
          'no_key_page',
        );
      return relyingParty;
    },
  });
  // A back end is built for each caller (its credential, address and client), and kept: a script or
  // a resource server sends many requests with the same ones, and building one is ~70 closures. A
  // few thousand at most; a back end holds no state of its own beyond what it was built with.
  const backends = new Map<string, Backend>();
  const backendFor = (c: { sessionToken?: string; accessToken?: string; ip: string; client: string }): Backend => {
    const key = `${c.sessionToken ?? ''}\n${c.accessToken ?? ''}\n${c.ip}\n${c.client}`;
    let backend = backends.get(key);
    if (!backend) {
      if (backends.size >= 4096) backends.clear();
      backends.set(
        key,
        (backend = store.backend(
          { sessionToken: c.sessionToken, accessToken: c.accessToken, ip: c.ip, client: c.client },
          { checked: true, checkFileEachCall: false },
        )),
      );
    }
    return backend;
  };
  const api = createApiServer({
    backendFor,
    trustProxy: options.trustProxy,
    // Host names a client may use besides loopback names and IP literals (DNS rebinding, issue #14).
    hosts: [...(relyingParty ? [relyingParty.rpId] : []), ...(WILDCARD.has(host) ? [] : [host])],
    bootstrap,
    privatePaths: [
      // A database URL is a path on the server too: an answer never shows it (nor its host).
      ...(postgres ? [dbPath, redactUrl(dbPath)] : [dbPath]),
      options.store.keyPath,
      options.store.mail.outboxDir,
      bootstrapSecretPath(anchor),
    ],
    introspectionBatch: (fn) => store.introspectionBatch(fn),
    checkStore: () => store.checkFile(),
    ...(options.introspectionRate !== undefined ? { callerRate: options.introspectionRate } : {}),
    ...(tls ? { tls } : {}),
    // The OAuth 2.0 / OpenID Connect provider (issue #21) needs a public URL: its issuer is that URL
    // with /oauth2, and the applications' users' browsers reach it there.
    ...(options.publicUrl && relyingParty
      ? {
          oauth: createOAuthHandler({
            issuer: `${relyingParty.origin}${OAUTH_PATH}`,
            storage: () => store.oauthStorage(),
            // The sign-in page's form fields are checked against the route schemas like any call's.
            backendFor: (c) =>
              store.backend({ sessionToken: c.sessionToken, ip: c.ip, client: c.client }, { checkFileEachCall: false }),
            log: options.log,
          }),
        }
      : {}),
    log: options.log,
  });
  await new Promise<void>((resolve, reject) => {
    api.server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new InvalidInput(`cannot listen on ${options.listen}: ${err.code ?? err.message}`, '--listen')),
    );
    api.server.listen(port, host, () => resolve());
  });
  const address = api.server.address() as AddressInfo;
  if (!relyingParty && LOOPBACK.has(host))
    relyingParty = { rpId: 'localhost', origin: `${tls ? 'https' : 'http'}://localhost:${address.port}` };
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  options.onListening(`${tls ? 'https' : 'http'}://${shownHost}:${address.port}`);
  // The database file is also watched between requests, so the operator's log says at once when it
  // was removed or replaced (every answer is then 503; issue #19).
  const watch = setInterval(() => {
    try {
      store.checkFile();
    } catch (err) {
      clearInterval(watch);
      options.log(`database: ${(err as Error).message}`);
    }
  }, 1000).unref();
  await new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(watch);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      options.log('shutting down: finishing requests in flight');
      void api.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  // Mail still going out after its answer (issue #15) is delivered before the process ends.
  await store.close();
}
