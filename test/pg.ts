import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { openStore } from '../src/store/db.js';
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

function urlFor(base: string, schema: string): string {
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** A fresh, empty schema on the test cluster and a URL whose connections use it; drop() removes it. */
export function freshSchema(base = PG_TEST_URL): { url: string; drop(): void } {
  if (!base) throw new Error('ACCTSEC_TEST_DATABASE is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = adminClient(base);
  client.querySync(`CREATE SCHEMA ${schema}`);
  return {
    url: urlFor(base, schema),
    drop: () => {
      client.querySync(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

// Migrating a schema costs about 0.13 s of PostgreSQL's CPU (28 tables, their indexes and triggers),
// and the contract suite opens some 700 worlds. So a world's schema is migrated once and, when the
// world ends, emptied back to what the migrations left (a template schema's rows, copied in; the
// identity sequences restarted) and kept for the next world of this process. Triggers are off while it
// is emptied (session_replication_role: the audit log's refuse DELETE); the tables and the code that
// runs are the same as in a fresh schema.
const pooled: string[] = [];
const made: string[] = [];
let template: { schema: string; reset: string; shape: string } | undefined;

/** The schema's objects as the catalog has them (a test that drops a trigger makes a schema unfit for reuse). */
function shapeOf(client: Admin, schema: string): string {
  const rows = client.querySync(
    `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}') || '/' ||
            (SELECT string_agg(t.tgname || t.tgenabled::text, ',' ORDER BY t.tgname) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' AND NOT t.tgisinternal) AS shape`,
  ) as { shape: string }[];
  return rows[0]!.shape;
}

function templateOf(base: string): { schema: string; reset: string; shape: string } {
  if (template) return template;
  const client = adminClient(base);
  const schema = `tmpl_${randomBytes(6).toString('hex')}`;
  client.querySync(`CREATE SCHEMA ${schema}`);
  made.push(schema);
  openStore(urlFor(base, schema), { create: true }).close();
  const tables = (
    client.querySync(`SELECT tablename FROM pg_tables WHERE schemaname = '${schema}'`) as { tablename: string }[]
  ).map((r) => r.tablename);
  const sequences = client.querySync(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '${schema}' AND is_identity = 'YES'`,
  ) as { table_name: string; column_name: string }[];
  // Run with search_path = the world's schema.
  const reset = [
    'SET session_replication_role = replica',
    ...tables.map((t) => `DELETE FROM ${t}`),
    ...tables.map((t) => `INSERT INTO ${t} SELECT * FROM ${schema}.${t}`),
    ...sequences.map((c) => `SELECT setval(pg_get_serial_sequence('${c.table_name}', '${c.column_name}'), 1, false)`),
    'SET session_replication_role = origin',
  ].join(';\n');
  return (template = { schema, reset, shape: shapeOf(client, schema) });
}

/**
 * A schema for one world (the contract suite's): migrated, empty of anything a world wrote, its own
 * until release() hands it back for the next world.
 */
export function worldSchema(base = PG_TEST_URL): { url: string; drop(): void } {
  if (!base) throw new Error('ACCTSEC_TEST_DATABASE is not set');
  const tmpl = templateOf(base);
  let schema = pooled.pop();
  if (!schema) {
    schema = `w_${randomBytes(6).toString('hex')}`;
    const client = adminClient(base);
    client.querySync(`CREATE SCHEMA ${schema}`);
    made.push(schema);
    openStore(urlFor(base, schema), { create: true }).close();
  }
  const mine = schema;
  return {
    url: urlFor(base, mine),
    drop: () => {
      const client = adminClient(base);
      if (shapeOf(client, mine) !== tmpl.shape) {
        client.querySync(`DROP SCHEMA ${mine} CASCADE`); // a case changed its tables or triggers
        return;
      }
      client.querySync(`SET search_path = ${mine}; ${tmpl.reset}; SET search_path = public`);
      pooled.push(mine);
    },
  };
}

process.on('exit', () => {
  if (!admin) return;
  for (const schema of made) {
    try {
      admin.querySync(`DROP SCHEMA ${schema} CASCADE`);
    } catch {
      /* the cluster is gone: nothing to clean */
    }
  }
});

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
