import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isUtf8 } from 'node:buffer';
import { isIP, Server as NetServer, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Backend } from '../backend/backend.js';
import { checkFields, ROUTES, type Operation, type Route } from '../backend/routes.js';
import { AcctsecError, Conflict, Forbidden, STATUS_BY_EXIT } from '../errors.js';
import { readAddress, unmapped } from '../ip-address.js';
import type { InitResult } from '../views.js';
import { inspectSecret } from '../token-format.js';
import { KEY_PAGE_HEADERS, KEY_PAGE_HTML, KEY_PAGE_PATH } from '../webauthn-page.js';
import { QR_PAGE_HEADERS, QR_PAGE_HTML } from '../recovery-qr-page.js';
import { QR_PAGE_PATH } from '../recovery-qr-text.js';
import { isOAuthPath, type OAuthGuard, type OAuthHandler } from './oauth.js';
import { AddressLimiter, addressGroup, RequestBudget } from './address-limiter.js';

// `acctsec serve` (SPEC §10): a JSON HTTP API over the same service code, one route table
// (backend/routes.ts), Node's own http/https.

export const BODY_LIMIT = 64 * 1024;
/** Per client address: this many failed sign-in, code or caller-credential calls per window, then 429. */
export const FAILURES_PER_WINDOW = 30;
export const WINDOW_MS = 5 * 60_000;
/** Introspection calls per second per calling credential (a bucket of twice this many absorbs bursts). */
export const DEFAULT_CALLER_RATE = 1000;
/**
 * Address groups (IPv4 addresses, IPv6 /64s) the failure limit remembers at most, least recently
 * failed first out: at most 30 times each, about 20 MB in all (README: the server's RSS bound).
 */
export const MAX_TRACKED_ADDRESSES = 50_000;
/** Anonymous OAuth requests that store a row (authorization and device requests) per address group, per 10 minutes. */
export const OAUTH_STORING_PER_10_MIN = 60;
/** Limited calls (sign-in, codes: argon2 and friends) of one address group running at once (issue #15). */
export const CHECKS_IN_FLIGHT_PER_ADDRESS = 4;
/** How long a limited call waits for its address's turn before it gets 429. */
export const ADDRESS_WAIT_MS = 10_000;
/**
 * After SIGTERM, how long a keep-alive connection with no request in flight may still bring one (it is
 * answered with `Connection: close`) before it is closed (issue #19 §5); and how long a connection we
 * closed waits for its client to close its side before it is dropped.
 */
export const IDLE_GRACE_MS = 500;
const LINGER_MS = 2_000;
/** Limited calls of one address group waiting at most; more get 429 at once. */
const MAX_WAITING_PER_ADDRESS = 256;

export interface RequestCredentials {
  sessionToken?: string;
  accessToken?: string;
  ip: string;
  client: string;
}

/**
 * Over HTTP, `init` needs the one-time secret `acctsec serve` wrote beside an empty database (issue
 * #14): nobody on the network claims a fresh server.
 */
export interface BootstrapGate {
  /** Throws Forbidden unless `secret` is the pending one; Conflict when the server already has accounts. */
  admit(secret: string | undefined): void;
  /** The first account exists: the secret is spent and its file deleted. */
  spent(): void;
}

export interface ApiServerOptions {
  /** A Backend acting for one request: its session or token, its address. */
  backendFor(credentials: RequestCredentials): Backend;
  /** CIDRs of proxies whose X-Forwarded-For is believed. */
  trustProxy?: string[];
  /**
   * Host names clients may use besides loopback names and IP literals (the host of --public-url and
   * --listen): any other Host header is 421, so a DNS-rebinding page cannot talk to the server.
   */
  hosts?: string[];
  tls?: { cert: Buffer; key: Buffer };
  now?: () => number;
  /** Only these operations (the CLI's loopback key page serves just the ceremony's two). Default: all. */
  operations?: Operation[];
  /** Without it, `init` over HTTP is refused. */
  bootstrap?: BootstrapGate;
  /** Server-side paths (database, key file, outbox) that must never appear in an answer. */
  privatePaths?: string[];
  /** Introspection calls per second per calling credential (default DEFAULT_CALLER_RATE). */
  callerRate?: number;
  /**
   * Runs a batch of introspections (called synchronously inside `fn`) on one read of the store's change
   * counter made on entry. Without it, each introspection reads the counter itself.
   */
  introspectionBatch?: <T>(fn: () => T) => T;
  /**
   * Throws "back end unavailable" when the database file was removed or replaced under the server:
   * called before and after every route's call (introspection's aside), succeeded or failed, so no
   * answer comes from, and no write is acknowledged in, a file that is not the one at the database's
   * path (issue #19).
   */
  checkStore?: () => void;
  /** Unexpected errors, for the operator's log (never sent to clients). */
  log?: (line: string) => void;
  /** The OAuth 2.0 / OpenID Connect provider under /oauth2 (issue #21); only with --public-url. */
  oauth?: OAuthHandler;
}

export interface ApiServer {
  server: Server;
  /**
   * Stops accepting, lets requests in flight finish and answers them with `Connection: close`, then
   * closes every keep-alive connection without a reset (issue #19 §5).
   */
  shutdown(): Promise<void>;
}

type Net = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * The socket's peer address, read as every other address: its zone (a link-local peer's %eth0) names
 * our interface, not the client. The kernel's text always reads; the fallback is never taken.
 */
function plain(address: string): string {
  const reading = readAddress(address.replace(/%.*$/, ''));
  return 'address' in reading ? unmapped(reading.address).toString() : address;
}

function inside(address: string, nets: Net[]): boolean {
  const a = ipaddr.parse(address);
  return nets.some(([n, bits]) => a.kind() === n.kind() && a.match(n, bits));
}

/**
 * One X-Forwarded-For hop: `IP`, `IP:port` or `[v6]:port`, read as the IP allow-list reads addresses
 * (ip-address.ts: dotted decimal without leading zeros, no hex or integer forms, no zone ids, each of
 * which would be an address of its own to the limits; `::a.b.c.d` is the IPv6 `::xxxx:xxxx`).
 * Undefined when malformed.
 */
export function parseHop(hop: string): string | undefined {
  let h = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(h);
  const port = bracketed ? bracketed[2] : /^[0-9.]+:(\d{1,5})$/.exec(h)?.[1];
  if (port !== undefined && Number(port) > 65535) return undefined;
  if (bracketed) h = bracketed[1]!;
  else if (port !== undefined) h = h.slice(0, h.lastIndexOf(':'));
  const reading = readAddress(h);
  return 'address' in reading ? unmapped(reading.address).toString() : undefined;
}

/** The host name of a Host header (RFC 9110 §7.2: host [":" port]), lower-cased; '' when malformed. */
function hostName(header: string): string {
  const m = /^(\[[0-9a-f:.]+\]|[^[\]:]+)(?::\d{1,5})?$/.exec(header.trim().toLowerCase());
  if (!m) return '';
  return m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
}

/** After SIGTERM, how long answers still owed may take before their connections are cut. */
const SHUTDOWN_DEADLINE_MS = 20_000;

/** How long a streamed answer waits for a client that reads nothing before it is cut. */
const STREAM_STALL_MS = 30_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Frozen answers (an introspection answer is the same object while its token's row is) serialised once. */
const serialised = new WeakMap<object, { text: string; length: number }>();

function serialise(body: unknown): { text: string; length: number } {
  if (typeof body !== 'object' || body === null || !Object.isFrozen(body)) {
    const text = JSON.stringify(body);
    return { text, length: Buffer.byteLength(text) };
  }
  let done = serialised.get(body);
  if (!done) {
    const text = JSON.stringify(body);
    serialised.set(body, (done = { text, length: Buffer.byteLength(text) }));
  }
  return done;
}

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const { text, length } = serialise(body);
  const head = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': length,
    'cache-control': 'no-store',
  };
  res.writeHead(status, headers ? Object.assign(head, headers) : head);
  res.end(text);
}

function errorBody(code: string, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, ...details } };
}

/** RFC 6750 §3: a 401 names the scheme the client should use. */
const CHALLENGE = { 'www-authenticate': 'Bearer realm="acctsec"' };
const INVALID_TOKEN = { 'www-authenticate': 'Bearer realm="acctsec", error="invalid_token"' };
/** RFC 6750 §3.1's error codes in the challenge, for OAuth clients that read them. */
const CHALLENGES: Record<string, Record<string, string>> = {
  inactive_token: INVALID_TOKEN,
  missing_scope: { 'www-authenticate': 'Bearer realm="acctsec", error="insufficient_scope"' },
};

const tooLarge = () => new HttpError(413, 'too_large', `the request body is over ${BODY_LIMIT / 1024} KiB`);
const NO_BODY = Buffer.alloc(0);

/**
 * The raw body, at most 64 KiB (413 beyond), handed to `done` once. Events and a callback, not an
 * async iterator or a promise: each is a promise and a microtask more on every request.
 */
function readBody(req: IncomingMessage, done: (err: Error | undefined, raw: Buffer) => void): void {
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) {
    req.resume();
    done(tooLarge(), NO_BODY);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      req.removeAllListeners('data');
      req.resume();
      if (!settled) {
        settled = true;
        done(tooLarge(), NO_BODY);
      }
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', (err) => {
    if (!settled) {
      settled = true;
      done(err, NO_BODY);
    }
  });
  req.on('end', () => {
    if (settled) return;
    settled = true;
    done(undefined, chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? NO_BODY : Buffer.concat(chunks, size));
  });
}

const invalid = (message: string, field: string) => new HttpError(400, 'invalid_input', message, {}, field);
/** The body as text: UTF-8 only (RFC 8259 §8.1), refused rather than patched with U+FFFD. */
function utf8(raw: Buffer): string {
  if (!isUtf8(raw)) throw new HttpError(400, 'malformed_json', 'the request body is not valid UTF-8');
  // A byte order mark stays in the text, and JSON.parse refuses it (RFC 8259 §8.1).
  return raw.toString('utf8');
}

/** A JSON body: an object (its fields are the operation's parameters). */
function jsonFields(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  const text = utf8(raw);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'malformed_json', 'the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('the request body must be a JSON object', 'body');
  return parsed as Record<string, unknown>;
}

/**
 * Fields by name in an object without a prototype: a field named `__proto__` is a field like any
 * other (refused as unknown), not a way to hand the schema values through a prototype.
 */
function fieldSet(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/**
 * OAuth parameters an introspection client may add that carry nothing for us: `token_type_hint`
 * (RFC 7662 §2.1: the server may ignore it) and `client_id` (openid-client and oauth4webapi send it
 * for every client; the caller is authenticated by its Bearer token, RFC 6749 §3.2 says to ignore
 * parameters a server does not use). Any other unknown field is refused, as everywhere.
 */
const OAUTH_IGNORED = new Set(['token_type_hint', 'client_id']);

/**
 * An RFC 7662 §2.1 form body: `token` and the optional `ip`, and the ignored fields above. A
 * repeated field is refused (RFC 6749 §3.1).
 */
function formFields(raw: Buffer): Record<string, unknown> {
  const fields = fieldSet();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(utf8(raw))) {
    if (seen.has(name)) throw invalid(`the field ${name} is repeated`, name);
    seen.add(name);
    if (!OAUTH_IGNORED.has(name)) fields[name] = value;
  }
  return fields;
}

/** GET parameters: each JSON-encoded, none repeated. */
function queryFields(query: URLSearchParams): Record<string, unknown> {
  const fields = fieldSet();
  for (const [name, raw] of query) {
    if (Object.hasOwn(fields, name)) throw invalid(`the query parameter ${name} is repeated`, name);
    try {
      fields[name] = JSON.parse(raw) as unknown;
    } catch {
      throw invalid(`the query parameter ${name} is not valid JSON`, name);
    }
  }
  return fields;
}

const MEDIA_JSON = 'application/json';
const MEDIA_FORM = 'application/x-www-form-urlencoded';

export function createApiServer(options: ApiServerOptions): ApiServer {
  const now = options.now ?? Date.now;
  const trusted: Net[] = (options.trustProxy ?? []).map((c) => ipaddr.parseCIDR(c));
  const served = options.operations ? ROUTES.filter((r) => options.operations!.includes(r.op)) : ROUTES;
  const routes = new Map(served.map((r) => [`${r.method} ${r.path}`, r]));
  const methodsByPath = new Map<string, string[]>();
  for (const r of served) methodsByPath.set(r.path, [...(methodsByPath.get(r.path) ?? []), r.method]);
  const hosts = new Set(['localhost', ...(options.hosts ?? []).map((h) => h.toLowerCase())]);
  const privatePaths = (options.privatePaths ?? []).filter((p) => p.length > 1).sort((a, b) => b.length - a.length);
  const limiter = new AddressLimiter({
    now,
    failuresPerWindow: FAILURES_PER_WINDOW,
    windowMs: WINDOW_MS,
    maxAddresses: MAX_TRACKED_ADDRESSES,
    inFlight: CHECKS_IN_FLIGHT_PER_ADDRESS,
    waitMs: ADDRESS_WAIT_MS,
    maxWaiting: MAX_WAITING_PER_ADDRESS,
  });
  const callerRate = options.callerRate ?? DEFAULT_CALLER_RATE;
  const storing = new RequestBudget({
    now,
    capacity: OAUTH_STORING_PER_10_MIN,
    perMs: 10 * 60_000,
    maxGroups: MAX_TRACKED_ADDRESSES,
  });
  /** The OAuth pages' share of the per-address limits: the same failure window as the API's routes. */
  const oauthGuard: OAuthGuard = {
    retryAfter: (ip) => limiter.retryAfter(addressGroup(ip)),
    admit: (ip) => limiter.admit(addressGroup(ip)),
    recordFailure: (ip) => limiter.recordFailure(addressGroup(ip)),
    take: (ip) => storing.take(addressGroup(ip)) === 0,
  };
  /** The introspection callers' budgets: bursts of twice the rate, then the rate per second. */
  const callers = new RequestBudget({ now, capacity: callerRate * 2, perMs: 2000, maxGroups: 10_000 });

  /** A keep-alive connection's peer is parsed once, not on each of its requests. */
  const peers = new WeakMap<object, string>();
  const hostsSeen = new WeakMap<object, string>();

  /**
   * The socket's peer, or the client a trusted proxy names: the rightmost X-Forwarded-For hop that is
   * not a trusted proxy. A malformed hop on the way is refused (400), never skipped: skipping would
   * let a client choose the address it is judged by.
   */
  function clientAddress(req: IncomingMessage): string {
    let peer = peers.get(req.socket);
    if (peer === undefined) peers.set(req.socket, (peer = plain(req.socket.remoteAddress ?? '0.0.0.0')));
    const header = req.headers['x-forwarded-for'];
    if (!header || !inside(peer, trusted)) return peer;
    const hops = String(header).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseHop(hops[i]!);
      if (hop === undefined)
        throw new HttpError(
          400,
          'invalid_forwarded_for',
          `the X-Forwarded-For hop "${hops[i]!.trim().slice(0, 60)}" is not an IP address`,
        );
      client = hop;
      if (!inside(hop, trusted)) return hop;
    }
    return client;
  }

  /** DNS rebinding: a page of another site that resolves to this server sends its own name as Host. */
  function checkHost(req: IncomingMessage): void {
    const header = req.headers.host ?? '';
    if (hostsSeen.get(req.socket) === header) return;
    const name = hostName(header);
    if (!hosts.has(name) && !name.endsWith('.localhost') && isIP(name) === 0) {
      throw new HttpError(
        421,
        'wrong_host',
        `this server does not answer for the host "${name.slice(0, 100)}" (its operator names it with --public-url)`,
      );
    }
    hostsSeen.set(req.socket, header);
  }

  /**
   * 429 when this caller's bucket is empty (only this caller waits); otherwise the call is charged at
   * once. Charged when checked, not after the answer: the introspections of one event-loop turn are
   * checked one after another in a single synchronous loop (answerBatch), and a charge made only after
   * each answer would let a whole turn's requests pass a bucket with one token left. A credential that
   * turns out not to be valid gets a bucket too; the map is bounded, and each such call also counts
   * against its address as a failed caller credential.
   */
  function takeCallerBudget(caller: string): void {
    const retry = callers.take(caller);
    if (retry > 0)
      throw new HttpError(429, 'throttled', `too many introspection calls from this caller; try again in ${retry} s`, {
        'retry-after': String(retry),
      });
  }

  /**
   * Whether a bearer credential has an access token's shape (else it is a session's), remembered for
   * a connection's last one: a pure function of the string, and a resource server sends the same
   * token on every request of its keep-alive connection (a CRC32 each time, otherwise).
   */
  const bearersSeen = new WeakMap<object, { bearer: string; access: boolean }>();
  function isAccessToken(req: IncomingMessage, bearer: string): boolean {
    const seen = bearersSeen.get(req.socket);
    if (seen?.bearer === bearer) return seen.access;
    const shape = inspectSecret(bearer);
    const access = shape.valid && (shape.kind === 'token' || shape.kind === 'apikey');
    bearersSeen.set(req.socket, { bearer, access });
    return access;
  }

  function credentialsFor(req: IncomingMessage, route: Route, ip: string): RequestCredentials {
    const client = String(req.headers['user-agent'] ?? 'unknown client').slice(0, 120);
    const auth = req.headers.authorization;
    // RFC 7235 §2.1: the scheme is case-insensitive.
    const bearer = auth && /^bearer\s/i.test(auth) ? auth.slice(7).trim() : undefined;
    if (!bearer || route.auth === 'none') return { ip, client };
    if (!isAccessToken(req, bearer)) return { sessionToken: bearer, ip, client };
    if (route.auth === 'session') {
      throw new HttpError(
        403,
        'session_required',
        'this needs a signed-in session: access tokens cannot change passwords, second factors, tokens or accounts (`acctsec login`)',
      );
    }
    return { accessToken: bearer, ip, client };
  }

  async function checkScope(route: Route, creds: RequestCredentials): Promise<void> {
    if (!creds.accessToken || typeof route.auth !== 'object') return;
    // Asked as nobody: a back end holding the token as its credential would introspect *as* it.
    const token = await options
      .backendFor({ ip: creds.ip, client: creds.client })
      .verifyToken(creds.accessToken, creds.ip);
    if (!token.active)
      throw new HttpError(
        401,
        'inactive_token',
        'the access token is not active (expired, revoked, unknown, or not allowed from this address)',
        INVALID_TOKEN,
      );
    if (!token.scopes.includes(route.auth.scope)) {
      throw new HttpError(
        403,
        'missing_scope',
        `the access token lacks the scope ${route.auth.scope}`,
        CHALLENGES.missing_scope,
      );
    }
  }

  /**
   * A request up to its body: host, route, the address's failure window, the media type; then the
   * body, read with events, goes to respond(). Nothing before the call to the Backend awaits: a
   * resource server introspects on each request it gets, and every promise and microtask of the
   * way (an async function per step, a promise per body) was a measurable part of its cost.
   */
  function handle(req: IncomingMessage, res: ServerResponse): void {
    checkHost(req);
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    if (pathname === '/healthz' && req.method === 'GET') return send(res, 200, { ok: true });
    if (options.oauth && isOAuthPath(pathname)) return options.oauth(req, res, clientAddress(req), oauthGuard);
    if (pathname === KEY_PAGE_PATH && req.method === 'GET') {
      res.writeHead(200, { ...KEY_PAGE_HEADERS, 'content-length': Buffer.byteLength(KEY_PAGE_HTML) });
      res.end(KEY_PAGE_HTML);
      return;
    }
    // The approval page of QR-code recovery (issue #20 §1): its secret comes in the fragment, never here.
    if (pathname === QR_PAGE_PATH && req.method === 'GET') {
      res.writeHead(200, { ...QR_PAGE_HEADERS, 'content-length': Buffer.byteLength(QR_PAGE_HTML) });
      res.end(QR_PAGE_HTML);
      return;
    }
    const route = routes.get(`${req.method} ${pathname}`);
    if (!route) {
      const allowed = methodsByPath.get(pathname);
      if (allowed)
        throw new HttpError(
          405,
          'method_not_allowed',
          `${String(req.method).slice(0, 20)} is not allowed on ${pathname}`,
          { allow: allowed.join(', ') },
        );
      throw new HttpError(
        404,
        'not_found',
        `no such route: ${String(req.method).slice(0, 20)} ${pathname.slice(0, 200)}`,
      );
    }
    const ip = clientAddress(req);
    if (route.limited) {
      // Before the body is read, and long before any argon2 work.
      const retry = limiter.retryAfter(addressGroup(ip));
      if (retry > 0) {
        req.resume();
        return tooMany(res, `too many failed attempts from ${addressGroup(ip)}; try again in ${retry} s`, retry);
      }
    }
    if (route.method === 'GET')
      return respond(req, res, route, ip, q >= 0 ? queryFields(new URLSearchParams(target.slice(q + 1))) : {});
    const [media, ...parameters] = (req.headers['content-type'] ?? '').toLowerCase().split(';');
    const type = media!.trim();
    const form = route.form === true && type === MEDIA_FORM;
    // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset is not read as if it were.
    const charset = parameters.length
      ? parameters.map((p) => p.trim()).find((p) => p.startsWith('charset='))
      : undefined;
    if ((type !== MEDIA_JSON && !form) || (charset !== undefined && charset.replace(/"/g, '') !== 'charset=utf-8')) {
      req.resume();
      throw new HttpError(
        415,
        'unsupported_media_type',
        `send the body as ${route.form ? `${MEDIA_JSON} or ${MEDIA_FORM}` : MEDIA_JSON} in UTF-8${type ? `, not ${type.slice(0, 100)}${charset ? `; ${charset.slice(0, 40)}` : ''}` : ''}`,
      );
    }
    readBody(req, (err, raw) => {
      try {
        if (err) throw err;
        respond(req, res, route, ip, form ? formFields(raw) : jsonFields(raw));
      } catch (e) {
        fail(req, res, e);
      }
    });
  }

  /** The body or query's fields checked against the route's schema, then the caller's credentials. */
  function respond(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    ip: string,
    fields: Record<string, unknown>,
  ): void {
    // Checked before anything else runs: a body of the wrong shape never reaches the Backend.
    const checked = checkFields(route, fields);
    if (!checked.ok) throw invalid(checked.message, checked.field);
    const { args } = checked;
    const creds = credentialsFor(req, route, ip);
    if (route.perCaller && options.introspectionBatch) {
      if (batch.length === 0) setImmediate(answerBatch);
      batch.push({ req, res, route, ip, args, creds });
      return;
    }
    if (route.limited && !route.longPoll) {
      // A turn among the address's checks in flight first (issue #15): the rest wait, bounded.
      const group = addressGroup(ip);
      void limiter.admit(group).then(async (turn) => {
        if ('release' in turn) {
          await call(req, res, route, ip, args, creds).finally(turn.release);
          return;
        }
        const why = turn.busy ? `too many attempts at once from ${group}` : `too many failed attempts from ${group}`;
        tooMany(res, `${why}; try again in ${turn.retryAfter} s`, turn.retryAfter);
      });
      return;
    }
    void call(req, res, route, ip, args, creds);
  }

  function tooMany(res: ServerResponse, message: string, retry: number): void {
    send(res, 429, errorBody('throttled', message, { retryAfterSeconds: retry }), { 'retry-after': String(retry) });
  }

  /**
   * Introspections read from the sockets in one event-loop turn, answered together once the turn's
   * reads are done (the check phase, after the poll phase that read them) on one read of the change
   * counter. That read comes after every request of the batch was read from its socket, so a change
   * committed before a request was sent (a revocation, in any process) is in it: each answer is as
   * fresh as if the request had read the counter itself. Under load this is one row read for a whole
   * turn's requests (about 15 with 16 connections) instead of one each: the read and its two lock
   * calls were a quarter of a request's CPU time.
   */
  let batch: Array<{
    req: IncomingMessage;
    res: ServerResponse;
    route: Route;
    ip: string;
    args: unknown[];
    creds: RequestCredentials;
  }> = [];
  function answerBatch(): void {
    const due = batch;
    batch = [];
    let started = false;
    try {
      options.introspectionBatch!(() => {
        started = true;
        for (const b of due) void call(b.req, b.res, b.route, b.ip, b.args, b.creds);
      });
    } catch (err) {
      // The counter could not be read (a store error): each request meets the error on its own.
      if (!started) for (const b of due) void call(b.req, b.res, b.route, b.ip, b.args, b.creds);
      else options.log?.(`introspection batch: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The Backend's answer, or the error it ends in (never thrown: its promise is not awaited). */
  async function call(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    ip: string,
    args: unknown[],
    creds: RequestCredentials,
  ): Promise<void> {
    try {
      const caller = creds.accessToken ?? creds.sessionToken;
      if (route.perCaller) {
        // Introspection answers resource servers, each with its own credential (RFC 7662 §2.1).
        if (!caller) {
          throw new HttpError(
            401,
            'caller_required',
            `introspection needs the caller's credential: Authorization: Bearer <an access token with the scope ${(route.auth as { scope: string }).scope}>`,
            CHALLENGE,
          );
        }
        // The call authenticates the caller (its token's scope too, in the same database snapshot as
        // the answer); the budget is taken before it.
        takeCallerBudget(caller);
      }
      const backend = options.backendFor(creds);
      if (creds.accessToken && typeof route.auth === 'object' && !route.perCaller) await checkScope(route, creds);
      if (route.op === 'init') {
        if (options.bootstrap) options.bootstrap.admit(args[1] as string | undefined);
        else refuseInit();
      }
      // The database file is checked before and after every route's call, whether it succeeds or fails
      // (a failed sign-in writes its attempt; a read may record a last use): an answer is never given
      // from, nor a write acknowledged in, a file that is no longer the one at the path (issue #19).
      // Introspection is left out: it writes nothing of its caller's, and it is the hot path.
      const checked = !route.perCaller;
      if (checked) options.checkStore?.();
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with apply(backend, ...)
      const method = backend[route.op] as (...a: unknown[]) => unknown;
      if (route.stream) {
        const items = method.apply(backend, args) as AsyncIterable<unknown>;
        const iterator = items[Symbol.asyncIterator]();
        const first = await iterator.next(); // errors (auth, role) still become a JSON error status
        res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
        // A client that stops reading or goes away ends the stream (and the generator, so nothing of
        // it stays open); one that reads nothing for STREAM_STALL_MS is cut (issue #19 review).
        let gone = false;
        const away = () => (gone = true);
        res.once('close', away);
        try {
          for (let item = first; !item.done && !gone; item = await iterator.next()) {
            if (!res.write(JSON.stringify(item.value) + '\n')) {
              const drained = await new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => resolve(false), STREAM_STALL_MS);
                const done = (ok: boolean) => () => {
                  clearTimeout(timer);
                  res.off('drain', onDrain);
                  res.off('close', onClose);
                  resolve(ok);
                };
                const onDrain = done(true);
                const onClose = done(false);
                res.once('drain', onDrain);
                res.once('close', onClose);
              });
              if (!drained) gone = true;
            }
          }
        } finally {
          res.off('close', away);
          if (gone) {
            await iterator.return?.();
            res.destroy();
          } else res.end();
        }
        return;
      }
      let result: unknown;
      try {
        result = await method.apply(backend, args);
      } catch (err) {
        // Someone ran `acctsec init --db` on the server's host meanwhile: the secret is of no more use.
        if (route.op === 'init' && err instanceof Conflict) options.bootstrap?.spent();
        throw err;
      } finally {
        // Thrown here, "the file was replaced" takes the place of the route's own answer or error.
        if (checked) options.checkStore?.();
      }
      if (route.op === 'init') {
        options.bootstrap?.spent();
        // A server never names its own files.
        const { database: _database, keyFile: _keyFile, ...rest } = result as InitResult;
        result = rest;
      }
      send(res, 200, result === undefined ? {} : result);
    } catch (err) {
      // A caller over its own introspection budget is not a failed attempt of its address: counting
      // it would let one resource server's flood lock out every caller behind the same address.
      // Nor is a malformed value (exit 2): it guesses nothing.
      if (
        route.limited &&
        !(err instanceof HttpError && err.status === 429) &&
        !(err instanceof AcctsecError && err.exitCode === 2)
      )
        limiter.recordFailure(addressGroup(ip));
      fail(req, res, err);
    }
  }

  function refuseInit(): never {
    throw new Forbidden('this server does not set itself up over HTTP', 'bootstrap_required');
  }

  /** Error messages may name a file (a store error): a client is told "the server's ..." instead. */
  function redact(message: string): string {
    let m = message;
    for (const p of privatePaths) if (m.includes(p)) m = m.split(p).join('(a path on the server)');
    return m;
  }

  /** The error a request ends in, as its answer (a status and a JSON body), or a cut stream. */
  function fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      if (!req.complete) req.resume();
      return send(
        res,
        err.status,
        errorBody(err.code, err.message, err.field === undefined ? {} : { field: err.field }),
        err.headers,
      );
    }
    if (err instanceof AcctsecError) {
      const status = STATUS_BY_EXIT[err.exitCode] ?? 500;
      const details = err.details();
      const headers: Record<string, string> =
        status === 429 && typeof details.retryAfterSeconds === 'number'
          ? { 'retry-after': String(details.retryAfterSeconds) }
          : (CHALLENGES[err.slug] ?? (status === 401 ? CHALLENGE : {}));
      for (const [k, value] of Object.entries(details)) if (typeof value === 'string') details[k] = redact(value);
      return send(res, status, errorBody(err.slug, redact(err.message), details), headers);
    }
    options.log?.(
      `internal error on ${req.method} ${(req.url ?? '').split('?', 1)[0]}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    send(res, 500, errorBody('internal', 'internal server error'));
  }

  /**
   * Graceful shutdown (issue #19 §5). Once shutdown() begins, every answer carries `Connection: close`
   * and its connection is closed after it; a connection with no request in flight gets IDLE_GRACE_MS
   * to bring one more, then is closed with a FIN (socket.end), never a reset. A request that crosses
   * that FIN is read and dropped, never run: its client sees the connection closed before an answer
   * ("other side closed") and may send it again elsewhere. What resets a request is a socket destroyed
   * with the request unread in it, which is what http.Server's close() (closeIdleConnections) does.
   */
  let closing = false;
  /** Every open connection (the TLS socket for https), and the answers still owed. */
  const connections = new Set<Socket>();
  const owed = new Set<ServerResponse>();
  /** Connections this server closed with a FIN during shutdown. */
  const ended = new WeakSet<Socket>();

  function owesOn(socket: Socket): boolean {
    for (const res of owed) if (res.req.socket === socket) return true;
    return false;
  }

  function closeIdle(socket: Socket): void {
    if (ended.has(socket) || socket.destroyed || socket.writableEnded) return;
    ended.add(socket);
    socket.end();
    // The client closes its side on our FIN; with nothing unread, closing ours then resets nothing.
    socket.once('end', () => socket.destroy());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  /** One function for every response's close, not a closure per request. */
  const closed = function (this: ServerResponse): void {
    owed.delete(this);
    // An answer begun before the signal went out keep-alive: its connection is closed now.
    if (closing && !owesOn(this.req.socket)) closeIdle(this.req.socket);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (closing) {
      if (ended.has(req.socket)) {
        req.resume();
        return;
      }
      res.setHeader('connection', 'close');
    }
    owed.add(res);
    res.on('close', closed);
    try {
      handle(req, res);
    } catch (err) {
      fail(req, res, err);
    }
  };

  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  return {
    server,
    shutdown: () =>
      new Promise<void>((resolve) => {
        closing = true;
        // Stop listening (new connections are refused: a clean error), without http.Server's close(),
        // whose closeIdleConnections() destroys idle keep-alive sockets, resetting any request on its way.
        NetServer.prototype.close.call(server, () => resolve());
        for (const res of owed) if (!res.headersSent) res.setHeader('connection', 'close');
        const grace = setTimeout(() => {
          for (const socket of connections) if (!owesOn(socket)) closeIdle(socket);
        }, IDLE_GRACE_MS);
        // Answers still owed after SHUTDOWN_DEADLINE_MS (a client reading a stream slowly, a long poll)
        // do not hold the process: their connections are cut (issue #19 review: a support session
        // reading `admin users list` one byte at a time kept serve running after SIGTERM).
        const deadline = setTimeout(() => {
          for (const socket of connections) socket.destroy();
        }, SHUTDOWN_DEADLINE_MS);
        deadline.unref();
        server.once('close', () => {
          clearTimeout(grace);
          clearTimeout(deadline);
        });
      }),
  };
}
