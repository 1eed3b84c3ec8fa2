import { Pool } from 'undici';
import {
  AcctsecError,
  AuthFailed,
  Conflict,
  Forbidden,
  IdentityRequired,
  InvalidInput,
  MissingInput,
  NotFound,
  Throttled,
  Unavailable,
} from '../errors.js';
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
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string; retryAfterSeconds?: number; accepts?: { password: boolean; methods: string[] } };
}

/** The server's error document back to the error the service threw. */
function toError(status: number, body: ErrorBody, retryAfter: string | undefined): Error {
  const e = body.error ?? {};
  const message = e.message ?? `the server answered ${status}`;
  const code = e.code ?? 'remote_error';
  if (code === 'identity_required' && e.accepts) return new IdentityRequired(e.accepts);
  switch (status) {
    case 400:
    case 413:
      return code === 'missing_input' ? new MissingInput(message) : new InvalidInput(message, e.field);
    case 401:
      return new AuthFailed(message, code);
    case 403:
      return new Forbidden(message);
    case 404:
      return new NotFound(message);
    case 409:
      return new Conflict(message);
    case 429:
      return new Throttled(message, e.retryAfterSeconds ?? Number(retryAfter ?? 60));
    case 503:
      return new Unavailable(message, code);
    default:
      return new AcctsecError(code, message, 1);
  }
}

export function createRemoteBackend(options: RemoteBackendOptions): Backend {
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new InvalidInput(`invalid remote URL "${options.url}"`, '--remote');
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
      body = JSON.stringify(Object.fromEntries(route.params.map((name, i) => [name, args[i]])));
      headers['content-type'] = 'application/json';
    } else {
      const query = new URLSearchParams();
      route.params.forEach((name, i) => {
        if (args[i] !== undefined) query.set(name, JSON.stringify(args[i]));
      });
      if ([...query].length) path += `?${query.toString()}`;
    }
    let res;
    try {
      res = await pool.request({ path, method: route.method, headers, body, headersTimeout: 30_000, bodyTimeout: 60_000 });
    } catch (err) {
      const reason = (err as { code?: string }).code ?? (err as Error).message;
      throw new Unavailable(`cannot reach the acctsec server at ${options.url} (${reason})`, 'remote_unreachable');
    }
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let parsed: ErrorBody = {};
      try {
        parsed = JSON.parse(text) as ErrorBody;
      } catch {
        parsed = { error: { message: `the server at ${options.url} answered ${res.statusCode}` } };
      }
      const retry = res.headers['retry-after'];
      throw toError(res.statusCode, parsed, Array.isArray(retry) ? retry[0] : retry);
    }
    return res;
  }

  async function call(route: Route, args: unknown[]): Promise<unknown> {
    const res = await request(route, args);
    const text = await res.body.text();
    const value = text ? (JSON.parse(text) as unknown) : undefined;
    // Operations without a result answer {}.
    return value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0 ? undefined : value;
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

  const operations = Object.fromEntries(ROUTES.map((route) => [route.op, (...args: unknown[]) => (route.stream ? stream(route, args) : call(route, args))]));
  return {
    ...(operations as unknown as Omit<Backend, 'location' | 'close'>),
    location: options.url,
    close: () => pool.close(),
  };
}
