import { existsSync, readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { BIN, type Home } from '../e2e/helpers.js';

export interface Served {
  server: ResultPromise;
  url: string;
  /** The one-time bootstrap secret the server wrote beside an empty database (issue #14); '' when it has accounts. */
  secret: string;
  /** Everything the server wrote on stderr so far. */
  stderr: () => string;
  stop(): Promise<void>;
}

/**
 * `acctsec serve` on a free loopback port over `home.dir/<db>`; resolves once it prints its URL. The
 * home's CLI is pointed at it, with the operator's copy of the bootstrap secret.
 */
export async function startServe(home: Home, args: string[] = [], db = 'srv.db'): Promise<Served> {
  const dbPath = `${home.dir}/${db}`;
  const server = execa('node', [BIN, 'serve', '--db', dbPath, '--listen', '127.0.0.1:0', '--create', ...args], {
    env: home.env,
    extendEnv: false,
    reject: false,
  });
  let err = '';
  server.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void server.then((r) => reject(new Error(`acctsec serve ended: ${String(r.stderr)}`)));
  });
  const secretFile = `${dbPath}.bootstrap-secret`;
  const secret = existsSync(secretFile) ? readFileSync(secretFile, 'utf8').trim() : '';
  home.env.ACCTSEC_REMOTE = url;
  home.env.ACCTSEC_BOOTSTRAP_SECRET = secret;
  return {
    server,
    url,
    secret,
    stderr: () => err,
    stop: async () => {
      server.kill('SIGTERM');
      await server;
    },
  };
}
