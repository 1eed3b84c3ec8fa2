// Remote `token verify` (POST /v1/tokens/introspect) throughput on loopback against `acctsec serve`,
// and the same load against a bare Node http server that answers a constant, in one run (issue #8:
// target >= 0.5 of the bare server). Two load generators: autocannon (in this process) and wrk (C,
// one thread), each run three times per server, bare and acctsec alternating, after a warm-up of
// both; medians and their ratio are reported, with the machine's load average (the figures are only
// comparable on a quiet machine). autocannon is JavaScript on one core: against the bare server it
// is often the bottleneck itself, so its ratio flatters acctsec; wrk's is the stricter figure.
// The bench is not run in CI; without wrk installed, its half is skipped with a line saying so.
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const name = 'remote token verify vs a bare Node http server (loopback, autocannon and wrk)';

export const BIN = fileURLToPath(new URL('../bin/acctsec.cjs', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 16;
const ROUNDS = 3;
const WARMUP_SECONDS = 2;

/** Starts a child that prints a URL on stdout; resolves with it and the child. */
export function start(args, env) {
  return new Promise((resolve, reject) => {
    // stderr is kept for an error message: the server's notices would only clutter the figures.
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /(http:\/\/[0-9.:]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

/** autocannon: requests per second (average over the run) and p99 latency in ms. */
export function autocannonRun(url, request, seconds, connections = CONNECTIONS) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, ...request }, (err, r) => {
      if (err) return reject(err);
      if (r.non2xx > 0 || r.errors > 0)
        return reject(new Error(`${url} answered ${r.non2xx} non-2xx and ${r.errors} errors under autocannon`));
      resolve({ rps: r.requests.average, p99: `${r.latency.p99} ms` });
    });
  });
}

const WRK = 'wrk';
export const wrkInstalled = () => spawnSync(WRK, ['-v']).error?.code !== 'ENOENT';

/** The request as a wrk Lua script (wrk's own way to send a POST with a body and headers). */
export function wrkScript(dir, request) {
  const file = join(dir, 'introspect.lua');
  const lua = (s) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal for this ASCII text
  const lines = [`wrk.method = ${lua(request.method)}`, `wrk.body = ${lua(request.body)}`];
  for (const [k, v] of Object.entries(request.headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** wrk with one thread (the server gets the other core): requests per second and p99 latency. */
export function wrkRun(url, script, seconds, connections = CONNECTIONS) {
  return new Promise((resolve, reject) => {
    execFile(
      WRK,
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url],
      { encoding: 'utf8' },
      (err, out) => {
        if (err) return reject(err);
        const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
        if (!rps) return reject(new Error(`no Requests/sec in wrk's output:\n${out}`));
        const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
        const socketErrors = /Socket errors: (.*)/.exec(out);
        if (bad || socketErrors)
          return reject(
            new Error(
              `${url} under wrk: ${bad ? `${bad[1]} non-2xx answers` : ''} ${socketErrors ? `socket errors ${socketErrors[1]}` : ''}`,
            ),
          );
        resolve({ rps: Number(rps[1]), p99: /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?' });
      },
    );
  });
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en').padStart(7);
export const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export const BARE = `
const http = require('node:http');
const body = JSON.stringify({ active: true, account: 'alice', scopes: ['dns:read'], resources: [], expiresAt: null, deprecated: false });
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); }); });
s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));
`;

/** Warm-up, then ROUNDS of bare and acctsec alternating; lines of medians and the ratio. */
async function compare(label, runOne, bareUrl, serveUrl) {
  await runOne(bareUrl, WARMUP_SECONDS);
  await runOne(serveUrl, WARMUP_SECONDS);
  const bare = [];
  const serve = [];
  for (let i = 0; i < ROUNDS; i++) {
    bare.push(await runOne(bareUrl, SECONDS));
    serve.push(await runOne(serveUrl, SECONDS));
  }
  const b = median(bare.map((r) => r.rps));
  const s = median(serve.map((r) => r.rps));
  const ratio = s / b;
  const runs = (rs) => rs.map((r) => `${Math.round(r.rps)} (p99 ${r.p99})`).join(', ');
  return [
    `${label.padEnd(11)} bare node http (constant)      ${fmt(b)} req/s median; runs ${runs(bare)}`,
    `${label.padEnd(11)} acctsec serve token introspect ${fmt(s)} req/s median; runs ${runs(serve)}`,
    `${label.padEnd(11)} ratio ${ratio.toFixed(3)} of the bare server (target >= 0.5)${ratio < 0.5 ? '  BELOW TARGET' : ''}`,
  ];
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-bench-remote-'));
  const env = {
    ...process.env,
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
    NO_COLOR: '1',
  };
  delete env.ACCTSEC_REMOTE;
  delete env.ACCTSEC_TOKEN;
  const children = [];
  const lines = [`load average before: ${load()} (1, 5, 15 min)`];
  try {
    const bare = await start(['-e', BARE], env);
    children.push(bare.child);
    // Introspection is limited per calling credential (default 1000/s, bursts of 2000): the bench's
    // one caller must not hit that, or it would measure 429s and the limiter, not throughput.
    const db = join(dir, 'srv.db');
    const serve = await start(
      [BIN, 'serve', '--db', db, '--listen', '127.0.0.1:0', '--create', '--introspection-rate', '1000000'],
      env,
    );
    children.push(serve.child);
    const cli = (args, extra = {}) =>
      execFileSync(process.execPath, [BIN, '--remote', serve.url, ...args], {
        env: { ...env, ...extra },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    // `init` over HTTP needs the one-time secret the server wrote beside its database (issue #14).
    const secret = readFileSync(`${db}.bootstrap-secret`, 'utf8').trim();
    cli(['init', '--username', 'bench', '--email', 'bench@example.com'], {
      ACCTSEC_PASSWORD: 'measured passphrase 42',
      ACCTSEC_BOOTSTRAP_SECRET: secret,
    });
    // The resource server's credential (RFC 7662 §2.1): introspection needs a caller with this scope.
    const caller = JSON.parse(
      cli(['token', 'create', '--name', 'resource-server', '--scope', 'tokens:introspect', '--json']),
    ).token;
    const { token } = JSON.parse(cli(['token', 'create', '--name', 'bench', '--scope', 'dns:read', '--json']));
    const request = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${caller}` },
      body: JSON.stringify({ token, ip: '203.0.113.9' }),
    };
    const introspect = `${serve.url}/v1/tokens/introspect`;
    // The path measured is the active answer, not a refusal.
    const check = await fetch(introspect, request);
    const answer = await check.json();
    if (check.status !== 200 || answer.active !== true)
      throw new Error(`introspection answered ${check.status} ${JSON.stringify(answer)}`);

    lines.push(...(await compare('autocannon', (url, s) => autocannonRun(url, request, s), bare.url, introspect)));
    if (wrkInstalled()) {
      const script = wrkScript(dir, request);
      lines.push(...(await compare('wrk', (url, s) => wrkRun(url, script, s), bare.url, introspect)));
    } else lines.push('wrk         not installed: skipped (Debian: apt-get install wrk)');
    lines.push(
      `${CONNECTIONS} connections, ${SECONDS} s a run, ${ROUNDS} runs per server and generator after ${WARMUP_SECONDS} s of warm-up; wrk -t1`,
    );
    lines.push(`load average after: ${load()} (1, 5, 15 min), ${cpus().length} CPUs`);
    return lines;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
