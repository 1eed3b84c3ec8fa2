import { Pool } from 'undici';
import { errorFromWire, InvalidInput, Unavailable, type WireError } from '../errors.js';
import type { Backend } from './backend.js';
import { ROUTES, type Route } from './routes.js';

// The remote back end (SPEC §10): every Backend call goes to `acctsec serve` over one pooled,
// keep-alive undici client. Errors come back as the same typed errors, so exit codes and messages
// are the ones local mode gives.

export interface RemoteBackendOptions {
  url: string;
  sessionToken?: string | undefined;
  /** ACCTSEC_TOKEN: a personal access token instead of a session. */
  accessToken?: string | undefined;
  /** User-Agent: who is calling, for `sessions list`. */
  client: string;
  /** --insecure-http: allow http:// to a host that is not this machine (passwords would travel in clear). */
  insecureHttp?: boolean | undefined;
}

/** Loopback names and addresses: the only places plain http may go without --insecure-http. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // Not *.localhost: a resolver may answer it with any address (RFC 6761 asks it not to; not all obey).
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

interface ErrorBody {
  error?: WireError;
}

export function createRemoteBackend(options: RemoteBackendOptions): Backend {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new InvalidInput(`invalid remote URL "${options.url}"`, '--remote');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new InvalidInput(
      `invalid remote URL "${options.url}": use https:// (or http:// on this machine)`,
      '--remote',
    );
  // Passwords, codes and session tokens cross this connection: in clear only on this machine.
  if (base.protocol === 'http:' && !isLoopback(base.hostname) && !options.insecureHttp) {
    throw new InvalidInput(
      `refusing to use ${options.url}: over http:// passwords and session tokens would cross the network in clear; use https://, or --insecure-http if you really mean it`,
      '--remote',
    );
  }
  const pool = new Pool(base.origin, { connections: 4, keepAliveTimeout: 10_000 });
  const prefix = base.pathname.replace(/\/$/, '');
  const bearer = options.sessionToken ?? options.accessToken;

  async function request(route: Route, args: unknown[]) {
    const headers: Record<string, string> = { 'user-agent': options.client, accept: 'application/json' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let path = prefix + route.path;
    let body: string | undefined;
    if (route.method === 'POST') {
      body = JSON.stringify(Object.fromEntries(route.params.map(([name], i) => [name, args[i]])));
      headers['content-type'] = 'application/json';
    } else {
      const query = new URLSearchParams();
      route.params.forEach(([name], i) => {
        if (args[i] !== undefined) query.set(name, JSON.stringify(args[i]));
      });
      if ([...query].length) path += `?${query.toString()}`;
    }
    let res;
    try {
      res = await pool.request({
        path,
        method: route.method,
        headers,
        body,
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
      });
    } catch (err) {
      const reason = (err as { code?: string }).code ?? (err as Error).message;
      throw new Unavailable(`cannot reach the acctsec server at ${options.url} (${reason})`, 'remote_unreachable');
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let parsed: ErrorBody;
      try {
        parsed = JSON.parse(text) as ErrorBody;
      } catch {
        parsed = { error: { message: `the server at ${options.url} answered ${res.statusCode}` } };
      }
      const retry = res.headers['retry-after'];
      throw errorFromWire(res.statusCode, parsed.error ?? {}, Array.isArray(retry) ? retry[0] : retry);
    }
    return res;
  }

  async function call(route: Route, args: unknown[]): Promise<unknown> {
    const res = await request(route, args);
    const text = await res.body.text();
    const value = text ? (JSON.parse(text) as unknown) : undefined;
    // Operations without a result answer {}.
    return value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0
      ? undefined
      : value;
  }

  async function* stream(route: Route, args: unknown[]): AsyncGenerator<unknown> {
    const res = await request(route, args);
    let pending = '';
    for await (const chunk of res.body) {
      pending += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim()) yield JSON.parse(line);
      }
    }
    if (pending.trim()) yield JSON.parse(pending);
  }

  const operations = Object.fromEntries(
    ROUTES.map((route) => [route.op, (...args: unknown[]) => (route.stream ? stream(route, args) : call(route, args))]),
  );
  return {
    ...(operations as unknown as Omit<Backend, 'location' | 'close'>),
    location: options.url,
    close: () => pool.close(),
  };
}
