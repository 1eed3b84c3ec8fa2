import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { AUDIT_WAITING, AUDIT_WORKERS, appendAuditRows, type AuditRecord } from '../../src/service/audit.js';
import type { ServiceContext } from '../../src/service/context.js';
import { keyringFrom } from '../../src/service/encryption.js';
import { openStore } from '../../src/store/db.js';
import { Home, json, PASSWORD } from '../e2e/helpers.js';
import { startServe } from './serve.js';

// Issue #19 §3: a remote `admin audit verify` over 500,000 rows raised introspection's worst latency
// from 14 ms to 3,273 ms, because the walk (an HMAC per row) ran on the server's event loop. It runs in
// a worker thread now; resource servers introspecting meanwhile are answered as fast as when idle.

const ROWS = 500_000;
/**
 * One introspection sent every INTERVAL_MS whether or not the earlier ones were answered, as a resource
 * server's own traffic sends them (an open loop: a stall delays every request that arrives during it,
 * not only the few a closed loop would have in flight), over CONNECTIONS keep-alive connections.
 */
const INTERVAL_MS = 5;
const CONNECTIONS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

describe('long work does not stall the server (issue #19 §3)', () => {
  it('introspection p99 while `admin audit verify` walks 500,000 rows stays within max(2x idle, idle + 20 ms)', async () => {
    const home = new Home(false);
    // The key the server seals with, so this test can append to the log with the real chain code.
    const key = randomBytes(32).toString('base64');
    home.env.ACCTSEC_ENCRYPTION_KEY = key;
    const served = await startServe(home);
    const pool = new Pool(served.url, { connections: CONNECTIONS });
    try {
      const init = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(init.exitCode, init.stderr).toBe(0);
      const token = async (name: string, scope: string) =>
        json<{ token: string }>(await home.run(['token', 'create', '--name', name, '--scope', scope, '--json'])).token;
      const caller = await token('rs', 'tokens:introspect');
      const checked = await token('svc', 'dns:read');

      // 500,000 rows written through the store with the chain code appendAudit uses (the key derived
      // and the head sealed once), beside the running server: WAL lets it keep reading meanwhile.
      const db = openStore(`${home.dir}/srv.db`, { create: false });
      let at = Date.now() - ROWS * 10;
      const ctx = {
        db,
        now: () => (at += 10),
        keyring: keyringFrom({ envKey: key, keyPath: '/nonexistent' }),
      } as unknown as ServiceContext;
      db.transaction(() =>
        appendAuditRows(
          ctx,
          (function* (): Generator<AuditRecord> {
            for (let i = 0; i < ROWS; i++)
              yield {
                actor: `staff${i % 20}`,
                target: `user${i % 5000}`,
                action: 'lock',
                reason: 'load test',
                outcome: 'ok',
                ip: null,
                detail: { changes: ['refuse sign-in'] },
              };
          })(),
        ),
      ).immediate();
      db.close();

      const body = new URLSearchParams({ token: checked }).toString();
      const introspect = async (): Promise<number> => {
        const start = performance.now();
        const r = await pool.request({
          path: '/v1/tokens/introspect',
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${caller}` },
        });
        const answer = (await r.body.json()) as { active?: boolean };
        expect(r.statusCode).toBe(200);
        expect(answer.active).toBe(true);
        return performance.now() - start;
      };
      /** Latencies of the introspections sent every INTERVAL_MS until `done` settles. */
      const measure = async (done: Promise<unknown>): Promise<number[]> => {
        let over = false;
        void done.finally(() => (over = true));
        const answers: Promise<number>[] = [];
        while (!over) {
          answers.push(introspect());
          await sleep(INTERVAL_MS);
        }
        return Promise.all(answers);
      };

      await measure(sleep(500)); // connections open, code paths warm
      // The rule: the p99 during the verify is compared with the p99 idle measured in this test, on
      // this machine, under the same load, just before and just after it (the larger of the two, so
      // other test files starting or ending meanwhile do not pass for a stall): at most twice it, or
      // it plus 20 ms, whichever is larger (the floor absorbs scheduling noise on a loaded 2-core
      // machine, where the worker, this process and other test files share the cores). Before the
      // worker it was seconds. Under the whole suite the other test files' load can change between the
      // windows, so a round that misses is measured again, up to three rounds: a stall (the walk on
      // the event loop) misses every round.
      const reports: string[] = [];
      for (let round = 1; round <= 3; round++) {
        const idleBefore = await measure(sleep(3000));
        const verify = home.run(['admin', 'audit', 'verify', '--json']);
        const during = await measure(verify);
        const idleAfter = await measure(sleep(2000));
        const v = await verify;
        expect(v.exitCode, v.stderr).toBe(0);
        expect(json(v)).toMatchObject({ intact: true, rows: ROWS, problems: [] });
        const idle = p99(idleBefore) >= p99(idleAfter) ? idleBefore : idleAfter;
        const idleP99 = p99(idle);
        const duringP99 = p99(during);
        const allowed = Math.max(2 * idleP99, idleP99 + 20);
        reports.push(
          `round ${round}: introspection p99 idle ${idleP99.toFixed(1)} ms (${idle.length} calls), during verify ${duringP99.toFixed(1)} ms (${during.length} calls, max ${Math.max(...during).toFixed(1)} ms); allowed ${allowed.toFixed(1)} ms`,
        );
        console.log(reports[reports.length - 1]);
        expect(during.length, reports.join('\n')).toBeGreaterThan(100);
        if (duringP99 <= allowed) break;
        if (round === 3) expect(duringP99, reports.join('\n')).toBeLessThanOrEqual(allowed);
      }
    } finally {
      await pool.close();
      await served.stop();
      await home.remove();
    }
  }, 300_000);
});

describe('audit walks at once (issue #19 review)', () => {
  it(`at most ${AUDIT_WORKERS} walk in workers at once and ${AUDIT_WAITING} wait; the rest are 503 audit_busy, not a thread each`, async () => {
    const home = new Home(false);
    const key = randomBytes(32).toString('base64');
    home.env.ACCTSEC_ENCRYPTION_KEY = key;
    const served = await startServe(home);
    const n = AUDIT_WORKERS + AUDIT_WAITING + 4;
    const pool = new Pool(served.url, { connections: n });
    try {
      const init = await home.run(['init', '--username', 'alice', '--email', 'alice@example.com'], {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      });
      expect(init.exitCode, init.stderr).toBe(0);
      // Enough rows that a walk lasts well beyond the time the requests take to arrive (~100 ms each).
      const db = openStore(`${home.dir}/srv.db`, { create: false });
      let at = Date.now() - 1_000_000;
      const ctx = {
        db,
        now: () => (at += 10),
        keyring: keyringFrom({ envKey: key, keyPath: '/nonexistent' }),
      } as unknown as ServiceContext;
      db.transaction(() =>
        appendAuditRows(
          ctx,
          Array.from({ length: 20_000 }, (_, i) => ({
            actor: 'staff',
            target: `user${i}`,
            action: 'lock',
            reason: 'load test',
            outcome: 'ok' as const,
            ip: null,
            detail: {},
          })),
        ),
      ).immediate();
      db.close();
      const config = JSON.parse(readFileSync(join(home.dir, '.config/acctsec/config.json'), 'utf8')) as {
        profiles: { default: { session: { token: string } } };
      };
      const bearer = `Bearer ${config.profiles.default.session.token}`;
      const answers = await Promise.all(
        Array.from({ length: n }, async () => {
          const r = await pool.request({
            path: '/v1/admin/audit/verify',
            method: 'GET',
            headers: { authorization: bearer, accept: 'application/json' },
          });
          const body = (await r.body.json()) as { intact?: boolean; error?: { code: string; message: string } };
          return { status: r.statusCode, body };
        }),
      );
      const ok = answers.filter((a) => a.status === 200);
      const busy = answers.filter((a) => a.status === 503);
      expect(ok.length + busy.length, JSON.stringify(answers)).toBe(n);
      for (const a of ok) expect(a.body.intact).toBe(true);
      expect(busy.length, JSON.stringify(answers.map((a) => a.status))).toBeGreaterThanOrEqual(1);
      expect(ok.length).toBeGreaterThanOrEqual(AUDIT_WORKERS + AUDIT_WAITING - 2);
      for (const a of busy) {
        expect(a.body.error!.code).toBe('audit_busy');
        expect(a.body.error!.message).toMatch(/audit log verifications are running/);
      }
      // Once they are done, a verification runs again.
      const again = await home.run(['admin', 'audit', 'verify', '--json']);
      expect(again.exitCode, again.stderr).toBe(0);
    } finally {
      await pool.close();
      await served.stop();
      await home.remove();
    }
  }, 120_000);
});
