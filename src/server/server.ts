import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import ipaddr from 'ipaddr.js';
import type { Backend } from '../backend/backend.js';
import { ROUTES, STATUS_BY_EXIT, type Operation, type Route } from '../backend/routes.js';
import { AcctsecError } from '../errors.js';
import { inspectSecret } from '../token-format.js';
import { KEY_PAGE_HEADERS, KEY_PAGE_HTML, KEY_PAGE_PATH } from '../webauthn-page.js';

// `acctsec serve` (SPEC §10): a JSON HTTP API over the same service code, one route table
// (backend/routes.ts), Node's own http/https.

export const BODY_LIMIT = 64 * 1024;
/** Per client address: this many failed sign-in, code or introspection calls per window, then 429. */
export const FAILURES_PER_WINDOW = 30;
export const WINDOW_MS = 5 * 60_000;
const NO_FAILURES: readonly number[] = Object.freeze([]);

export interface RequestCredentials {
  sessionToken?: string;
  accessToken?: string;
  ip: string;
  client: string;
}

export interface ApiServerOptions {
  /** A Backend acting for one request: its session or token, its address. */
  backendFor(credentials: RequestCredentials): Backend;
  /** CIDRs of proxies whose X-Forwarded-For is believed. */
  trustProxy?: string[];
  tls?: { cert: Buffer; key: Buffer };
  now?: () => number;
  /** Only these operations (the CLI's loopback key page serves just the ceremony's two). Default: all. */
  operations?: Operation[];
  /** Unexpected errors, for the operator's log (never sent to clients). */
  log?: (line: string) => void;
}

export interface ApiServer {
  server: Server;
  /** Stops accepting, lets requests in flight finish, closes idle connections. */
  shutdown(): Promise<void>;
}

type Net = [ipaddr.IPv4 | ipaddr.IPv6, number];

function plain(address: string): string {
  const a = ipaddr.parse(address);
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address().toString() : a.toString();
}

function inside(address: string, nets: Net[]): boolean {
  const a = ipaddr.parse(address);
  return nets.some(([n, bits]) => a.kind() === n.kind() && a.match(n, bits));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function errorBody(code: string, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, ...details } };
}

/** The JSON body, at most 64 KiB (413 beyond), an object (400 otherwise). Events, not an async iterator: cheaper per request. */
function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) {
      reject(new HttpError(413, 'too_large', `the request body is over ${BODY_LIMIT / 1024} KiB`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, 'too_large', `the request body is over ${BODY_LIMIT / 1024} KiB`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > BODY_LIMIT) return;
      if (size === 0) return resolve({});
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
      } catch {
        return reject(new HttpError(400, 'malformed_json', 'the request body is not valid JSON'));
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return reject(new HttpError(400, 'malformed_json', 'the request body must be a JSON object'));
      }
      resolve(parsed as Record<string, unknown>);
    });
  });
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const now = options.now ?? Date.now;
  const trusted: Net[] = (options.trustProxy ?? []).map((c) => ipaddr.parseCIDR(c) as Net);
  const served = options.operations ? ROUTES.filter((r) => options.operations!.includes(r.op)) : ROUTES;
  const routes = new Map(served.map((r) => [`${r.method} ${r.path}`, r]));
  const paths = new Set(served.map((r) => r.path));
  const failures = new Map<string, number[]>();
  let inFlight = 0;

  /** A keep-alive connection's peer is parsed once, not on each of its requests. */
  const peers = new WeakMap<object, string>();

  /** The socket's peer, or the client a trusted proxy names (the rightmost untrusted X-Forwarded-For hop). */
  function clientAddress(req: IncomingMessage): string {
    let peer = peers.get(req.socket);
    if (peer === undefined) peers.set(req.socket, (peer = plain(req.socket.remoteAddress ?? '0.0.0.0')));
    const header = req.headers['x-forwarded-for'];
    if (!header || !inside(peer, trusted)) return peer;
    const hops = String(header).split(',').map((h) => h.trim()).filter((h) => ipaddr.isValid(h)).map(plain);
    for (let i = hops.length - 1; i >= 0; i--) if (!inside(hops[i]!, trusted)) return hops[i]!;
    return hops[0] ?? peer;
  }

  function recentFailures(ip: string): readonly number[] {
    const kept = failures.get(ip);
    if (!kept) return NO_FAILURES;
    const cutoff = now() - WINDOW_MS;
    const list = kept.filter((t) => t > cutoff);
    if (list.length) failures.set(ip, list);
    else failures.delete(ip);
    return list;
  }

  function credentialsFor(req: IncomingMessage, route: Route, ip: string): RequestCredentials {
    const client = String(req.headers['user-agent'] ?? 'unknown client').slice(0, 120);
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    if (!bearer || route.auth === 'none') return { ip, client };
    const shape = inspectSecret(bearer);
    const isAccessToken = shape.valid && (shape.kind === 'token' || shape.kind === 'apikey');
    if (!isAccessToken) return { sessionToken: bearer, ip, client };
    if (route.auth === 'session') {
      throw new HttpError(403, 'session_required', 'this needs a signed-in session: access tokens cannot change passwords, second factors, tokens or accounts (`acctsec login`)');
    }
    return { accessToken: bearer, ip, client };
  }

  async function checkScope(backend: Backend, route: Route, creds: RequestCredentials): Promise<void> {
    if (!creds.accessToken || typeof route.auth !== 'object') return;
    const token = await backend.verifyToken(creds.accessToken, creds.ip);
    if (!token.active) throw new HttpError(401, 'inactive_token', 'the access token is not active (expired, revoked, unknown, or not allowed from this address)');
    if (!token.scopes.includes(route.auth.scope)) throw new HttpError(403, 'missing_scope', `the access token lacks the scope ${route.auth.scope}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    if (pathname === '/healthz' && req.method === 'GET') return send(res, 200, { ok: true });
    if (pathname === KEY_PAGE_PATH && req.method === 'GET') {
      res.writeHead(200, { ...KEY_PAGE_HEADERS, 'content-length': Buffer.byteLength(KEY_PAGE_HTML) });
      res.end(KEY_PAGE_HTML);
      return;
    }
    const route = routes.get(`${req.method} ${pathname}`);
    if (!route) {
      if (paths.has(pathname)) throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${pathname}`);
      throw new HttpError(404, 'not_found', `no such route: ${req.method} ${pathname.slice(0, 200)}`);
    }
    const query = req.method === 'GET' && q >= 0 ? new URLSearchParams(target.slice(q + 1)) : undefined;
    const ip = clientAddress(req);
    if (route.limited) {
      const recent = recentFailures(ip);
      if (recent.length >= FAILURES_PER_WINDOW) {
        const retry = Math.max(1, Math.ceil((recent[0]! + WINDOW_MS - now()) / 1000));
        return send(res, 429, errorBody('throttled', `too many failed attempts from ${ip}; try again in ${retry} s`, { retryAfterSeconds: retry }), { 'retry-after': String(retry) });
      }
    }
    const body = req.method === 'POST' ? await readBody(req) : {};
    const args = route.params.map((name) => {
      if (req.method === 'POST') return body[name];
      const raw = query?.get(name) ?? null;
      if (raw === null) return undefined;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new HttpError(400, 'malformed_query', `the query parameter ${name} is not valid JSON`);
      }
    });
    const creds = credentialsFor(req, route, ip);
    const backend = options.backendFor(creds);
    let failed = false;
    try {
      if (creds.accessToken && typeof route.auth === 'object') await checkScope(backend, route, creds);
      const call = (backend[route.op] as (...a: unknown[]) => unknown).bind(backend);
      if (route.stream) {
        const items = call(...args) as AsyncIterable<unknown>;
        const iterator = items[Symbol.asyncIterator]();
        const first = await iterator.next(); // errors (auth, role) still become a JSON error status
        res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
        for (let item = first; !item.done; item = await iterator.next()) {
          if (!res.write(JSON.stringify(item.value) + '\n')) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return;
      }
      const result = await call(...args);
      // Introspection answering "inactive" is a failure for the caller's address, like a wrong code.
      if (route.op === 'verifyToken' && !(result as { active: boolean }).active) failed = true;
      send(res, 200, result === undefined ? {} : result);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      if (route.limited && failed) failures.set(ip, [...recentFailures(ip), now()]);
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.on('close', () => inFlight--);
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return send(res, err.status, errorBody(err.code, err.message));
      if (err instanceof AcctsecError) {
        const status = STATUS_BY_EXIT[err.exitCode] ?? 500;
        const details = err.details();
        const headers: Record<string, string> = status === 429 && typeof details.retryAfterSeconds === 'number' ? { 'retry-after': String(details.retryAfterSeconds) } : {};
        return send(res, status, errorBody(err.slug, err.message, details), headers);
      }
      options.log?.(`internal error on ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      send(res, 500, errorBody('internal', 'internal server error'));
    });
  };

  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  return {
    server,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections with no request in flight would hold close() open.
        server.closeIdleConnections();
        const poll = setInterval(() => {
          if (inFlight === 0) {
            server.closeIdleConnections();
            clearInterval(poll);
          }
        }, 50);
        poll.unref();
      }),
  };
}
