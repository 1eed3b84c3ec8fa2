// PostgreSQL (issue #22): remote `token verify` (POST /v1/tokens/introspect) throughput of acctsec serve
// on SQLite, on PostgreSQL with one instance and with two instances on one schema, next to a bare Node
// server, in one run: a warm-up of each, then ROUNDS rounds that visit all four in turn; medians. The
// two instances get a load generator each at once (half the connections each), and their sums are
// reported: a proxy in front would itself need a core of this 2-core machine. wrk (C, one thread) when
// installed, else autocannon. Then a write path that serializes across instances (token create: a row,
// an audit entry under the writers' lock), 4 clients at once, on SQLite, one and two PostgreSQL
// instances. The cluster is a throw-away one with fsync on (scripts/pg-cluster.sh), on a unix socket.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autocannonRun, BARE, BIN, load, median, start, wrkInstalled, wrkRun, wrkScript } from './remote.bench.js';

export const name = 'PostgreSQL: introspection with one and two instances, next to SQLite and a bare server';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = 3;
const CONNECTIONS = 16;
const CLUSTER = fileURLToPath(new URL('../scripts/pg-cluster.sh', import.meta.url));
const WRITES_PER_CLIENT = 50;
const WRITE_CLIENTS = 4;

const hasPostgres = () =>
  spawnSync('bash', ['-c', 'command -v initdb || ls /usr/lib/postgresql/*/bin/initdb'], { encoding: 'utf8' }).status ===
  0;

async function post(url, body, bearer) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

const PASSWORD = 'measured passphrase 42';

export async function run() {
  if (!hasPostgres()) return ['PostgreSQL is not installed (initdb not found): skipped'];
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-bench-pg-'));
  // A folder of its own: as root the script hands it to the postgres user, who cannot enter `dir` (0700).
  const cluster = mkdtempSync(join(tmpdir(), 'acctsec-bench-pgc-'));
  const env = {
    ...process.env,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
    NO_COLOR: '1',
  };
  for (const k of ['ACCTSEC_REMOTE', 'ACCTSEC_TOKEN', 'ACCTSEC_DATABASE_URL', 'ACCTSEC_DB']) delete env[k];
  const children = [];
  const lines = [`load average before: ${load()} (1, 5, 15 min), ${cpus().length} CPUs`];
  let clusterUp = false;
  try {
    const url = execFileSync('bash', [CLUSTER, 'start', cluster], {
      encoding: 'utf8',
      env: { ...env, PG_CLUSTER_FAST: '' },
    }).trim();
    clusterUp = true;
    const cli = (args, extra = {}) =>
      execFileSync(process.execPath, [BIN, ...args], {
        env: { ...env, ...extra },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    // The first account on each store, made on the host (no bootstrap secret needed there).
    const sqlite = join(dir, 'srv.db');
    const init = ['init', '--username', 'bench', '--email', 'bench@example.com', '--no-input'];
    cli(['--db', sqlite, ...init], { ACCTSEC_PASSWORD: PASSWORD });
    cli(init, { ACCTSEC_PASSWORD: PASSWORD, ACCTSEC_DATABASE_URL: url });

    const rate = ['--introspection-rate', '1000000'];
    const bare = await start(['-e', BARE], env);
    children.push(bare.child);
    const servers = {
      sqlite: await start([BIN, 'serve', '--db', sqlite, '--listen', '127.0.0.1:0', ...rate], env),
      pgA: await start([BIN, 'serve', '--database', url, '--listen', '127.0.0.1:0', ...rate], env),
      pgB: await start([BIN, 'serve', '--database', url, '--listen', '127.0.0.1:0', ...rate], env),
    };
    for (const s of Object.values(servers)) children.push(s.child);

    // A session, a resource server's credential and the token it asks about, on each store.
    const setUp = async (base) => {
      const signedIn = await post(`${base}/v1/sessions`, { input: { username: 'bench', password: PASSWORD } });
      const session = signedIn.session.token;
      const make = async (name, scope) =>
        (await post(`${base}/v1/tokens/create`, { request: { name, scopes: [scope], resources: [] } }, session)).token;
      return {
        session,
        caller: await make('resource-server', 'tokens:introspect'),
        token: await make('bench', 'dns:read'),
      };
    };
    const onSqlite = await setUp(servers.sqlite.url);
    const onPg = await setUp(servers.pgA.url);
    const sessionB = (
      await post(`${servers.pgB.url}/v1/sessions`, { input: { username: 'bench', password: PASSWORD } })
    ).session.token;
    const request = (creds) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${creds.caller}` },
      body: JSON.stringify({ token: creds.token, ip: '203.0.113.9' }),
    });
    for (const [base, creds] of [
      [servers.sqlite.url, onSqlite],
      [servers.pgA.url, onPg],
      [servers.pgB.url, onPg],
    ]) {
      const answer = await post(`${base}/v1/tokens/introspect`, JSON.parse(request(creds).body), creds.caller);
      if (answer.active !== true) throw new Error(`introspection at ${base} answered ${JSON.stringify(answer)}`);
    }

    const useWrk = wrkInstalled();
    const generator = useWrk ? 'wrk -t1' : 'autocannon';
    const scripts = useWrk ? { sqlite: wrkScript(join(dir), request(onSqlite)) } : {};
    if (useWrk) {
      // wrkScript writes introspect.lua in the folder it is given: one folder per request.
      const pgDir = mkdtempSync(join(dir, 'pg-'));
      scripts.pg = wrkScript(pgDir, request(onPg));
    }
    const one = (target, creds, script, seconds, connections) =>
      useWrk
        ? wrkRun(target, script, seconds, connections)
        : autocannonRun(target, request(creds), seconds, connections);
    const introspect = (base) => `${base}/v1/tokens/introspect`;
    const cases = {
      'bare node http (constant)': (s) => one(bare.url, onSqlite, scripts.sqlite, s, CONNECTIONS),
      'acctsec serve, SQLite': (s) => one(introspect(servers.sqlite.url), onSqlite, scripts.sqlite, s, CONNECTIONS),
      'acctsec serve, PostgreSQL, 1 instance': (s) =>
        one(introspect(servers.pgA.url), onPg, scripts.pg, s, CONNECTIONS),
      'acctsec serve, PostgreSQL, 2 instances': async (s) => {
        const [x, y] = await Promise.all([
          one(introspect(servers.pgA.url), onPg, scripts.pg, s, CONNECTIONS / 2),
          one(introspect(servers.pgB.url), onPg, scripts.pg, s, CONNECTIONS / 2),
        ]);
        return { rps: x.rps + y.rps, p99: `${x.p99} / ${y.p99}` };
      },
    };
    for (const runOne of Object.values(cases)) await runOne(2);
    const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++)
      for (const [k, runOne] of Object.entries(cases)) results[k].push(await runOne(SECONDS));
    const bareRps = median(results['bare node http (constant)'].map((x) => x.rps));
    lines.push(
      `introspection (${generator}, ${CONNECTIONS} connections in all, ${SECONDS} s a run, ${ROUNDS} rounds, medians):`,
    );
    for (const [k, rs] of Object.entries(results)) {
      const m = median(rs.map((x) => x.rps));
      lines.push(
        `  ${k.padEnd(40)} ${Math.round(m).toLocaleString('en').padStart(7)} req/s  ${(m / bareRps).toFixed(3)} of bare  p99 ${rs.map((x) => x.p99).join(', ')}`,
      );
    }
    lines.push(`  load average after introspection: ${load()}`);

    // Writes: token create, WRITE_CLIENTS clients at once, each WRITES_PER_CLIENT in a row.
    let serial = 0;
    const writes = async (targets) => {
      const started = performance.now();
      await Promise.all(
        Array.from({ length: WRITE_CLIENTS }, async (_, i) => {
          const { base, session } = targets[i % targets.length];
          for (let n = 0; n < WRITES_PER_CLIENT; n++)
            await post(
              `${base}/v1/tokens/create`,
              { request: { name: `w${serial++}`, scopes: ['dns:read'], resources: [] } },
              session,
            );
        }),
      );
      return (WRITE_CLIENTS * WRITES_PER_CLIENT) / ((performance.now() - started) / 1000);
    };
    const writeCases = {
      SQLite: () => writes([{ base: servers.sqlite.url, session: onSqlite.session }]),
      'PostgreSQL, 1 instance': () => writes([{ base: servers.pgA.url, session: onPg.session }]),
      'PostgreSQL, 2 instances': () =>
        writes([
          { base: servers.pgA.url, session: onPg.session },
          { base: servers.pgB.url, session: sessionB },
        ]),
    };
    const wrote = Object.fromEntries(Object.keys(writeCases).map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) for (const [k, w] of Object.entries(writeCases)) wrote[k].push(await w());
    lines.push(
      `token create (${WRITE_CLIENTS} clients at once, ${WRITE_CLIENTS * WRITES_PER_CLIENT} a round, ${ROUNDS} rounds, medians; fsync on):`,
    );
    for (const [k, ws] of Object.entries(wrote))
      lines.push(
        `  ${k.padEnd(40)} ${Math.round(median(ws)).toLocaleString('en').padStart(7)} writes/s  runs ${ws.map((w) => Math.round(w)).join(', ')}`,
      );
    lines.push(`load average after: ${load()} (1, 5, 15 min)`);
    return lines;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    if (clusterUp) spawnSync('bash', [CLUSTER, 'stop', cluster]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(cluster, { recursive: true, force: true });
  }
}
