import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { openLocalStore, type LocalStoreOptions } from '../backend/local.js';
import { InvalidInput } from '../errors.js';
import { createApiServer } from './server.js';

// `acctsec serve`: the composition of the local store (the same service code as local mode) and the
// HTTP server, until SIGTERM or SIGINT, which finish the requests in flight before closing.

export interface ServeOptions {
  store: LocalStoreOptions;
  listen: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  trustProxy: string[];
  /** Told the URL once the server listens. */
  onListening(url: string): void;
  log(line: string): void;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidInput(`invalid --listen "${text}": use HOST:PORT, e.g. 127.0.0.1:7400 or [::1]:7400 (port 0 picks a free one)`, '--listen');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function serve(options: ServeOptions): Promise<void> {
  const { host, port } = parseListen(options.listen);
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) throw new InvalidInput('--tls-cert and --tls-key go together', '--tls-cert');
  const readPem = (path: string, flag: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InvalidInput(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, flag);
    }
  };
  const tls = options.tlsCert && options.tlsKey ? { cert: readPem(options.tlsCert, '--tls-cert'), key: readPem(options.tlsKey, '--tls-key') } : undefined;
  const store = openLocalStore(options.store);
  const api = createApiServer({
    backendFor: (c) => store.backend({ sessionToken: c.sessionToken, accessToken: c.accessToken, ip: c.ip, client: c.client }),
    trustProxy: options.trustProxy,
    ...(tls ? { tls } : {}),
    log: options.log,
  });
  await new Promise<void>((resolve, reject) => {
    api.server.once('error', (err: NodeJS.ErrnoException) => reject(new InvalidInput(`cannot listen on ${options.listen}: ${err.code ?? err.message}`, '--listen')));
    api.server.listen(port, host, () => resolve());
  });
  const address = api.server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  options.onListening(`${tls ? 'https' : 'http'}://${shownHost}:${address.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      options.log('shutting down: finishing requests in flight');
      void api.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  store.close();
}
