// Remote `token verify` (POST /v1/tokens/introspect) throughput on loopback, measured with autocannon
// against `acctsec serve`, and the same load generator against a bare Node http server that answers a
// constant, in one run (issue #8: target >= 0.5 of the bare server).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const name = 'remote token verify vs a bare Node http server (loopback, autocannon)';

const BIN = fileURLToPath(new URL('../bin/acctsec.js', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 16;

/** Starts a child that prints a URL on stdout; resolves with it and the child. */
function start(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /(http:\/\/[0-9.:]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

function load(url, options) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: SECONDS, ...options }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

const BARE = `
const http = require('node:http');
const body = JSON.stringify({ active: true, account: 'alice', scopes: ['dns:read'], resources: [], expiresAt: null, deprecated: false });
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); }); });
s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));
`;

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-bench-remote-'));
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_STATE_HOME: join(dir, 'state'), NO_COLOR: '1' };
  delete env.ACCTSEC_REMOTE;
  const children = [];
  try {
    const bare = await start(['-e', BARE], env);
    children.push(bare.child);
    const serve = await start([BIN, 'serve', '--db', join(dir, 'srv.db'), '--listen', '127.0.0.1:0'], env);
    children.push(serve.child);
    const cli = (args, extra = {}) => execFileSync(process.execPath, [BIN, '--remote', serve.url, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
    cli(['init', '--username', 'bench', '--email', 'bench@example.com'], { ACCTSEC_PASSWORD: 'measured passphrase 42' });
    const { token } = JSON.parse(cli(['token', 'create', '--name', 'bench', '--scope', 'dns:read', '--json']));
    const body = JSON.stringify({ token, ip: '203.0.113.9' });
    const request = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
    await load(bare.url, { ...request, duration: 1 }); // warm-up
    const b = await load(bare.url, request);
    await load(`${serve.url}/v1/tokens/introspect`, { ...request, duration: 1 });
    const s = await load(`${serve.url}/v1/tokens/introspect`, request);
    if (s.non2xx > 0 || s.errors > 0) throw new Error(`acctsec serve answered ${s.non2xx} non-2xx and ${s.errors} errors`);
    const ratio = s.requests.average / b.requests.average;
    return [
      `bare node http (constant)      ${Math.round(b.requests.average).toLocaleString('en')} req/s, p99 ${b.latency.p99} ms`,
      `acctsec serve token introspect ${Math.round(s.requests.average).toLocaleString('en')} req/s, p99 ${s.latency.p99} ms`,
      `ratio                          ${ratio.toFixed(2)} of the bare server (target >= 0.5); ${CONNECTIONS} connections, ${SECONDS} s each`,
    ];
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
