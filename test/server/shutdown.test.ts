import { describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { Home } from '../e2e/helpers.js';
import { startServe } from './serve.js';

// Issue #19 §5: on SIGTERM, 89 requests on idle keep-alive connections got connection resets. A
// client that keeps its connections open sends a steady stream while the signal arrives: each request
// ends in a whole answer, or in an error that says the request was not taken (the connection was
// closed before an answer: undici's "other side closed"; or refused: the server no longer listens),
// which a client can retry. Never a reset after the request was written.

const CONNECTIONS = 24;
const LOOPS = 16;
/** What a client may retry: the server closed the connection (FIN) or no longer listens. */
const RETRYABLE = new Set(['UND_ERR_SOCKET', 'ECONNREFUSED']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SIGTERM with keep-alive clients (issue #19 §5)', () => {
  it('a steady stream over keep-alive connections: every request gets a whole answer or a clean error to retry, never a reset; answers after the signal say Connection: close', async () => {
    const home = new Home(false);
    const served = await startServe(home);
    const pool = new Pool(served.url, { connections: CONNECTIONS, pipelining: 1 });
    let signalled = Infinity;
    let over = false;
    const answers: { sentAt: number; connection: string | undefined }[] = [];
    const errors: { code: string; message: string }[] = [];
    const send = async (): Promise<void> => {
      const sentAt = performance.now();
      try {
        const r = await pool.request({ path: '/healthz', method: 'GET' });
        const body = (await r.body.json()) as { ok?: boolean };
        expect(r.statusCode).toBe(200);
        expect(body).toEqual({ ok: true });
        answers.push({ sentAt, connection: r.headers.connection as string | undefined });
      } catch (err) {
        const e = err as Error & { code?: string; cause?: { code?: string } };
        errors.push({ code: e.code ?? e.cause?.code ?? 'none', message: `${e.name}: ${e.message}` });
      }
    };
    try {
      // Every connection opened, most of them idle afterwards: undici keeps them for reuse.
      await Promise.all(Array.from({ length: CONNECTIONS * 2 }, send));
      const loops = Promise.all(
        Array.from({ length: LOOPS }, async () => {
          while (!over) {
            await send();
            await new Promise((r) => setImmediate(r));
          }
        }),
      );
      await sleep(300);
      let sawShutdown: () => void;
      const shutdownLogged = new Promise<void>((r) => (sawShutdown = r));
      served.server.stderr?.on('data', (c: Buffer) => {
        if (c.toString().includes('shutting down')) {
          signalled = performance.now();
          sawShutdown();
        }
      });
      served.server.kill('SIGTERM');
      await shutdownLogged;
      const exit = await served.server;
      await sleep(200);
      over = true;
      await loops;
      const before = answers.filter((a) => a.sentAt < signalled).length;
      const after = answers.filter((a) => a.sentAt > signalled);
      const report = `${before} answered before the signal, ${after.length} after (${after.filter((a) => a.connection === 'close').length} with Connection: close); errors: ${JSON.stringify(
        Object.entries(
          errors.reduce<Record<string, number>>(
            (n, e) => ((n[`${e.code} ${e.message}`] = (n[`${e.code} ${e.message}`] ?? 0) + 1), n),
            {},
          ),
        ),
      )}`;
      console.log(report);
      expect(exit.exitCode, report).toBe(0);
      expect(before, report).toBeGreaterThan(100);
      // No reset, no broken pipe: every failure is one a client can retry.
      expect(
        errors.filter((e) => !RETRYABLE.has(e.code)),
        report,
      ).toEqual([]);
      // A request that reached a connection after the signal was answered, and told to close it.
      expect(after.length, report).toBeGreaterThan(0);
      expect(
        after.filter((a) => a.connection !== 'close'),
        report,
      ).toEqual([]);
    } finally {
      over = true;
      await pool.destroy();
      await home.remove();
    }
  }, 60_000);
});
