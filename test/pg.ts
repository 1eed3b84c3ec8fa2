import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { endClient, type NativeClient } from '../src/store/pg.js';

// PostgreSQL for the tests (issue #22): with ACCTSEC_TEST_DATABASE set to a cluster's URL (`.ci/run` starts
// one with scripts/pg-cluster.sh), the contract suite runs a second time on PostgreSQL (project
// contract-pg) and the PostgreSQL-only tests run; each world gets a schema of its own, so worlds in
// parallel never see each other's rows.

export const PG_TEST_URL = process.env.ACCTSEC_TEST_DATABASE || undefined;

/** The contract-pg project (vitest.config.ts) runs the contract suite on PostgreSQL. */
export const ON_POSTGRES = process.env.ACCTSEC_TEST_STORE === 'postgres';
if (ON_POSTGRES && !PG_TEST_URL)
  throw new Error('ACCTSEC_TEST_STORE=postgres needs ACCTSEC_TEST_DATABASE (a cluster URL)');

interface Admin {
  querySync(text: string): unknown[];
  connectSync(url: string): void;
  end(): void;
}
let admin: Admin | undefined;
function adminClient(url: string): Admin {
  if (!admin) {
    const Client = createRequire(import.meta.url)('pg-native') as new () => Admin;
    admin = new Client();
    admin.connectSync(url);
    admin.querySync('SET client_min_messages = warning');
  }
  return admin;
}

/** A fresh, empty schema on the test cluster and a URL whose connections use it; drop() removes it. */
export function freshSchema(base = PG_TEST_URL): { url: string; drop(): void } {
  if (!base) throw new Error('ACCTSEC_TEST_DATABASE is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = adminClient(base);
  client.querySync(`CREATE SCHEMA ${schema}`);
  const sep = base.includes('?') ? '&' : '?';
  return {
    url: `${base}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: () => {
      client.querySync(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

/** Runs SQL on the database at `url` on a connection of its own (a test's edit behind acctsec's back). */
export function execOn(url: string, text: string): void {
  const Client = createRequire(import.meta.url)('pg-native') as new () => Admin;
  const client = new Client();
  client.connectSync(url);
  try {
    client.querySync(text);
  } finally {
    endClient(client as unknown as NativeClient);
  }
}
