import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { openLocalStore, type LocalStore, type LocalStoreOptions } from '../../src/backend/local.js';
import { createRemoteBackend } from '../../src/backend/remote.js';
import { ROUTES } from '../../src/backend/routes.js';
import { AcctsecError } from '../../src/errors.js';
import { DEFAULT_FROM, type Delivery } from '../../src/mail/mailer.js';
import { bootstrapSecretPath, createBootstrap } from '../../src/server/bootstrap.js';
import { createApiServer } from '../../src/server/server.js';
import { argon2Hasher } from '../../src/service/password-hashing.js';
import type { Policy } from '../../src/service/policy.js';
import type { RelyingParty } from '../../src/service/security-keys.js';
import { totpCode } from '../../src/service/totp.js';
import type { InitResult } from '../../src/views.js';
import { ON_POSTGRES, worldSchema } from '../pg.js';

// The Backend contract suite (issue #16, in the manner of Ory Kratos' persister tests): every case runs
// against both back ends, in this process. `local` is the service layer over a SQLite file, as the CLI
// runs it; `remote` is the same kind of store served by an in-process `createApiServer`, wired as
// `acctsec serve` wires it (src/server/serve.ts), reached by `createRemoteBackend` over loopback HTTP.
// Results are recorded per case and back end, and compared after both ran (`agreement()`).

export const PASSWORD = 'correct horse battery staple';
export const NEW_PASSWORD = 'a much better passphrase';
export const ALICE = { username: 'alice', email: 'alice@example.com', password: PASSWORD };
/** The worlds' clock starts here; a test moves it with `world.clock.advance`. */
export const EPOCH = Date.parse('2026-11-23T10:00:00Z');
export const MINUTE = 60_000;
export const QR_PAGE_ORIGIN = 'https://acctsec.example.test';
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * Argon2id at its cheapest (1 MiB, one pass) instead of SPEC §3's 19 MiB × 2: the contract is about
 * what the back ends answer, not the cost of a hash, and a few hundred sign-ins at the real cost would
 * take most of the time budget. Both back ends get the same hasher, so their answers stay comparable.
 */
export const TEST_HASHER = argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

export interface Mail {
  to: string[];
  subject: string;
  /** The whole message as written to the outbox (.eml: headers and every part). */
  text: string;
}

export interface World {
  readonly name: BackendName;
  /** The temp folder of the database, its key and the outbox (only the audit tampering cases touch the file). */
  readonly dir: string;
  /** The store: the SQLite file in `dir`, or with ACCTSEC_TEST_DATABASE a PostgreSQL URL (a schema of its own). */
  readonly location: string;
  /**
   * The service's clock (LocalStoreOptions.now), shared by no one else: timestamps are equal across the
   * back ends, TOTP codes are computed at it, windows and expiries pass when a test moves it. The HTTP
   * server's per-address limiter keeps real time, as serve's does.
   */
  readonly clock: { now(): number; advance(ms: number): void };
  /** The relying party of security key ceremonies (the soft authenticator signs for its origin). */
  readonly relyingParty: RelyingParty;
  /** Over HTTP, the one-time secret the server wrote beside its empty database (issue #14); none locally. */
  readonly bootstrapSecret: string | undefined;
  /** A back end without a session. */
  anonymous(): Backend;
  /** A back end signed in with this session token. */
  as(sessionToken: string): Backend;
  /** Every message sent so far, in order (the mailer's outbox files, read back). */
  mail(): Mail[];
  /** Waits for the work done after answers (mail, issue #15). The store reopens on the next call. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export type BackendName = 'local' | 'remote';

/** What a case may set up differently: the operator's policy, an SMTP server instead of the outbox. */
export interface WorldOptions {
  policy?: Partial<Policy>;
  smtp?: string;
  /**
   * Remote world: the server checks its database file around every call, as serve does, and runs this
   * at the start of each call of the back end (a case replaces the file while a call runs).
   */
  checkStore?: { duringCall: (op: string) => void };
}

function newWorldBase(name: BackendName, worldOptions: WorldOptions) {
  const dir = mkdtempSync(join(tmpdir(), `acctsec-contract-${name}-`));
  let t = EPOCH;
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const deliveries: Delivery[] = [];
  // In the contract-pg project, the store is a schema of its own on ACCTSEC_TEST_DATABASE (issue #22).
  const schema = ON_POSTGRES ? worldSchema() : undefined;
  const options: LocalStoreOptions = {
    dbPath: schema?.url ?? join(dir, 'acctsec.db'),
    keyPath: join(dir, 'acctsec.key'),
    hasher: TEST_HASHER,
    now: clock.now,
    mail: {
      from: DEFAULT_FROM,
      outboxDir: join(dir, 'outbox'),
      smtp: worldOptions.smtp,
      onDelivery: (d) => deliveries.push(d),
    },
    ...(worldOptions.policy ? { policy: worldOptions.policy } : {}),
    // As `serve --public-url`: recovery QR codes open this origin's approval page (issue #20 §1).
    recoveryPageOrigin: QR_PAGE_ORIGIN,
  };
  const mail = (): Mail[] =>
    deliveries.map((d) => {
      const raw = d.via === 'outbox' ? readFileSync(d.path, 'utf8') : '';
      return { to: d.to, subject: d.subject, text: raw };
    });
  return { dir, clock, options, mail, drop: () => schema?.drop() };
}

async function localWorld(options: WorldOptions): Promise<World> {
  const base = newWorldBase('local', options);
  // The CLI starts its own loopback page for key ceremonies; here a fixed origin stands for it.
  // createLocalBackend is this store with one back end (and close() closing the store): the worlds
  // keep one store and hand out a back end per session, as a CLI run per profile would.
  const relyingParty: RelyingParty = { rpId: 'localhost', origin: 'http://localhost:7444' };
  const store = openLocalStore({ ...base.options, relyingParty: async () => relyingParty });
  return {
    name: 'local',
    dir: base.dir,
    location: base.options.dbPath,
    clock: base.clock,
    relyingParty,
    bootstrapSecret: undefined,
    anonymous: () => store.backend({ client: CLIENT }),
    as: (sessionToken) => store.backend({ sessionToken, client: CLIENT }),
    mail: base.mail,
    settle: () => store.close(),
    close: async () => {
      await store.close();
      base.drop();
      rmSync(base.dir, { recursive: true, force: true });
    },
  };
}

/** What `acctsec serve --listen 127.0.0.1:0` builds (src/server/serve.ts), without its signal handling. */
async function remoteWorld(options: WorldOptions): Promise<World> {
  const base = newWorldBase('remote', options);
  const { dbPath, keyPath } = base.options;
  const log = (line: string) => serverLog.push(line);
  const serverLog: string[] = [];
  // A fresh database has no account: serve writes the one-time bootstrap secret beside it.
  const bootstrap = createBootstrap(join(base.dir, 'acctsec.db'), false, log);
  // Known once the server listens (its port is in the origin), as in serve.
  const rp: { current?: RelyingParty } = {};
  const store: LocalStore = openLocalStore({
    ...base.options,
    log,
    relyingParty: async () => {
      if (!rp.current) throw new Error('the server is not listening yet');
      return rp.current;
    },
  });
  const backends = new Map<string, Backend>();
  const api = createApiServer({
    backendFor: (c) => {
      const key = `${c.sessionToken ?? ''}\n${c.accessToken ?? ''}\n${c.ip}\n${c.client}`;
      let backend = backends.get(key);
      if (!backend) {
        if (backends.size >= 4096) backends.clear();
        backends.set(
          key,
          (backend = store.backend(
            { sessionToken: c.sessionToken, accessToken: c.accessToken, ip: c.ip, client: c.client },
            // As serve: the server checks the file around each call, the store only once a second.
            options.checkStore ? { checkFileEachCall: false } : undefined,
          )),
        );
      }
      const during = options.checkStore?.duringCall;
      if (!during) return backend;
      const inner = backend;
      return new Proxy(inner, {
        get: (target, op: string) => {
          const value = Reflect.get(target, op) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            during(op);
            return (value as (...a: unknown[]) => unknown).apply(inner, args);
          };
        },
      });
    },
    ...(options.checkStore ? { checkStore: () => store.checkFile() } : {}),
    trustProxy: [],
    // Listening on 127.0.0.1: loopback names and IP literals are always accepted; serve adds the host.
    hosts: ['127.0.0.1'],
    bootstrap,
    privatePaths: [dbPath, keyPath, base.options.mail.outboxDir, bootstrapSecretPath(dbPath)],
    introspectionBatch: (fn) => store.introspectionBatch(fn),
    log,
  });
  await new Promise<void>((resolve, reject) => {
    api.server.once('error', reject);
    api.server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = api.server.address() as AddressInfo;
  // As serve does for a loopback listener without --public-url.
  const relyingParty: RelyingParty = { rpId: 'localhost', origin: `http://localhost:${port}` };
  rp.current = relyingParty;
  const url = `http://127.0.0.1:${port}`;
  const secretFile = bootstrapSecretPath(join(base.dir, 'acctsec.db'));
  const bootstrapSecret = existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : undefined;
  const clients: Backend[] = [];
  const client = (sessionToken?: string) => {
    const b = createRemoteBackend({ url, client: CLIENT, sessionToken });
    clients.push(b);
    return b;
  };
  return {
    name: 'remote',
    dir: base.dir,
    location: base.options.dbPath,
    clock: base.clock,
    relyingParty,
    bootstrapSecret,
    anonymous: () => client(),
    as: (sessionToken) => client(sessionToken),
    mail: base.mail,
    settle: () => store.close(),
    close: async () => {
      // A case may have closed its back end already (a second close of an undici pool throws).
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await api.shutdown();
      await store.close();
      base.drop();
      rmSync(base.dir, { recursive: true, force: true });
      if (serverLog.some((l) => l.startsWith('internal error'))) throw new Error(serverLog.join('\n'));
    },
  };
}

const CLIENT = 'acctsec-contract';

// ---------------------------------------------------------------------------------------------------
// Which Backend methods the suite calls: every back end a world hands out is wrapped in a Proxy that
// records the names called, as `local:status` or `remote:status`; each file reports them when it ends,
// and coverage.test.ts checks the union.

/** Every operation of the Backend interface (routes.ts is checked against it by the compiler), plus close. */
export const BACKEND_METHODS: readonly string[] = [...ROUTES.map((r) => r.op), 'close'].sort();

/**
 * Methods no contract case can call in-process, each with why. Empty: even the security key
 * ceremonies run here, with test/soft-authenticator.ts playing the browser's part.
 */
export const EXCLUDED_METHODS: Record<string, string> = {};

const called = new Set<string>();

function recording(name: BackendName, backend: Backend): Backend {
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop === 'string' && typeof value === 'function') {
        return (...args: unknown[]) => {
          called.add(`${name}:${prop}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
}

/** Where the files of one `vitest run` report their calls: workers of one run share their parent. */
export const COVERAGE_DIR = join(tmpdir(), `acctsec-contract-coverage-${process.ppid}`);

/** Call once per test file: when the file ends, writes the methods it called. */
export function reportCoverage(file: string): void {
  afterAll(() => {
    mkdirSync(COVERAGE_DIR, { recursive: true });
    writeFileSync(join(COVERAGE_DIR, `${basename(file)}.json`), JSON.stringify([...called].sort()));
  });
}

export function readCoverage(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!existsSync(COVERAGE_DIR)) return out;
  for (const f of readdirSync(COVERAGE_DIR)) {
    out.set(f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(COVERAGE_DIR, f), 'utf8')) as string[]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

export interface BackendFactory {
  name: BackendName;
  world(options?: WorldOptions): Promise<World>;
}

function recorded(make: (options: WorldOptions) => Promise<World>): (options?: WorldOptions) => Promise<World> {
  return async (options = {}) => {
    const w = await make(options);
    return { ...w, anonymous: () => recording(w.name, w.anonymous()), as: (token) => recording(w.name, w.as(token)) };
  };
}

/** The two back ends, for `describe.each(BACKENDS)('$name', ...)`. */
export const BACKENDS: BackendFactory[] = [
  { name: 'local', world: recorded(localWorld) },
  { name: 'remote', world: recorded(remoteWorld) },
];

// ---------------------------------------------------------------------------------------------------
// Helpers for cases.

/** `init` as the CLI does it: over HTTP with the operator's bootstrap secret (ACCTSEC_BOOTSTRAP_SECRET). */
export async function initAlice(world: World): Promise<{ result: InitResult; me: Backend; token: string }> {
  const result = await world.anonymous().init({ ...ALICE }, world.bootstrapSecret);
  return { result, me: world.as(result.session.token), token: result.session.token };
}

/** A signed-in session of `username` (a password-only account). */
export async function signIn(world: World, username: string, password: string): Promise<Backend> {
  const r = await world.anonymous().signIn({ username, password });
  if (r.status !== 'signed-in') throw new Error(`${username}: ${r.status}`);
  return world.as(r.session.token);
}

/** The TOTP code of a base32 secret at the world's time, `steps` periods later. */
export function totpAt(world: World, secretBase32: string, steps = 0): string {
  return totpCode(base32Decode(secretBase32), world.clock.now() + steps * 30_000);
}

export function base32Decode(s: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** The six-digit code of a message (the indented line every code message has). */
export function codeIn(mail: Mail): string {
  const m = /^ {4}(\d{6})$/m.exec(mail.text);
  if (!m) throw new Error(`no code in "${mail.subject}"`);
  return m[1]!;
}

/** An error as the contract sees it: its class, code, exit code, message and details. */
export interface ErrorShape {
  class: string;
  code: string;
  exitCode: number;
  message: string;
  details: Record<string, unknown>;
}

/** The error a call ends in (fails the test when it succeeds or throws something untyped). */
export async function failure(promise: Promise<unknown> | AsyncIterable<unknown>): Promise<ErrorShape> {
  try {
    if (Symbol.asyncIterator in promise) {
      for await (const _ of promise);
    } else await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AcctsecError);
    const e = err as AcctsecError;
    return { class: e.constructor.name, code: e.slug, exitCode: e.exitCode, message: e.message, details: e.details() };
  }
  throw new Error('expected the call to fail');
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Values that differ between back ends or runs by nature, replaced by a placeholder: random ids and
 * secrets, and what only HTTP knows (the client's address; the server's URLs). Everything else,
 * timestamps included (both worlds share one fake clock), must be equal.
 */
const RANDOM_KEYS = new Set([
  'id',
  'sessionId',
  'token',
  'ceremonyId',
  'key',
  'secret',
  'uri',
  'url',
  'sub',
  'head',
  'keptHead',
  'resetToken',
  'aaguid',
  'importId',
  // Issue #21: an OAuth application's client id and secret, and a signing key's id.
  'clientId',
  'clientSecret',
  'kid',
]);
const TRANSPORT_KEYS = new Set(['ip', 'lastUsedIp']);

export function normalise(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value as unknown[];
    if (key === 'codes' || key === 'recoveryCodes')
      return items.map((c) => (typeof c === 'string' ? c.replace(/\w/g, 'x') : c));
    return items.map((v) => normalise(v));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, k)]));
  }
  if (typeof value === 'string' && key !== undefined && RANDOM_KEYS.has(key)) return `<${key}>`;
  // Local calls have no client address (SPEC §6, documented): null locally, 127.0.0.1 over HTTP.
  if (key !== undefined && TRANSPORT_KEYS.has(key)) return `<${key}>`;
  // Random values quoted inside messages (a WebAuthn challenge, base64url of 32 bytes).
  if (typeof value === 'string')
    return value.replace(/"[A-Za-z0-9_-]{40,}"/g, '"<random>"').replace(/\bapp_[0-9A-Za-z]{22}\b/g, 'app_<clientId>');
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Agreement: each case records what it saw (normalised) under its name; after both back ends ran,
// one test per case compares the two transcripts.

const transcripts = new Map<string, Partial<Record<BackendName, unknown[]>>>();

/** Records `value` (normalised) in this case's transcript for `backend`; returns it unchanged. */
export function recorder(backend: BackendName, caseName: string): <T>(value: T) => T {
  const entry = transcripts.get(caseName) ?? {};
  transcripts.set(caseName, entry);
  const list: unknown[] = (entry[backend] = []);
  return (value) => {
    list.push(normalise(value));
    return value;
  };
}

/** Declares, after the `describe.each(BACKENDS)` block, one test per case: both back ends saw the same. */
export function agreement(cases: readonly string[], skipped: Record<string, string> = {}): void {
  describe('local and remote agree', () => {
    for (const name of cases) {
      const run = skipped[name] ? it.skip : it;
      run(name, () => {
        const entry = transcripts.get(name);
        expect(entry?.local, 'local ran this case').toBeDefined();
        expect(entry?.remote, 'remote ran this case').toBeDefined();
        expect(entry!.remote).toEqual(entry!.local);
      });
    }
  });
}

/** One contract case: it checks what must hold, and records (`rec`) what must be equal on both back ends. */
export type Case = (world: World, rec: <T>(value: T) => T) => Promise<void>;

/**
 * The whole file: each case against each back end (a fresh world per test), then the agreement
 * tests, then the coverage report. `skipped`: cases whose back ends differ (a bug to fix in src/),
 * each with the difference.
 */
export function contract(
  file: string,
  cases: Record<string, Case | { options: WorldOptions; run: Case }>,
  skipped: Record<string, string> = {},
): void {
  describe.each(BACKENDS)('$name', (factory) => {
    for (const [name, c] of Object.entries(cases)) {
      const run = skipped[name] ? it.skip : it;
      const [options, fn] = typeof c === 'function' ? [{}, c] : [c.options, c.run];
      run(name, async () => {
        const world = await factory.world(options);
        try {
          await fn(world, recorder(factory.name, name));
        } finally {
          await world.close();
        }
      });
    }
  });
  agreement(Object.keys(cases), skipped);
  reportCoverage(file);
}

/**
 * The code of the first message from index `since` on whose subject contains `subject`, waiting for it
 * (code mail is sent before the answer, notices may follow it).
 */
export async function mailedCode(world: World, subject: string, since = 0): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const m = world
      .mail()
      .slice(since)
      .find((x) => x.subject.includes(subject));
    if (m) return codeIn(m);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no message "${subject}" in the outbox after #${since}`);
}

/** What a call ended in, success or error, for comparing back ends where either may be right. */
export async function outcome(
  call: () => Promise<unknown> | AsyncIterable<unknown>,
): Promise<{ ok: unknown } | { error: ErrorShape } | { untyped: string }> {
  try {
    const r = call();
    return { ok: Symbol.asyncIterator in r ? await collect(r) : await r };
  } catch (err) {
    if (!(err instanceof AcctsecError))
      return { untyped: `${(err as Error).constructor.name}: ${(err as Error).message}` };
    return {
      error: {
        class: err.constructor.name,
        code: err.slug,
        exitCode: err.exitCode,
        message: err.message,
        details: err.details(),
      },
    };
  }
}
