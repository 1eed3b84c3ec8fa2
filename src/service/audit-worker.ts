import { parentPort } from 'node:worker_threads';
import { Unavailable } from '../errors.js';
import { openReader } from '../store/reader.js';
import { verifyAuditChain, type AuditWorkerAnswer, type AuditWorkerRequest } from './audit.js';

// The audit worker (issue #19 §3): `admin audit verify` and `admin audit head` walk the HMAC chain here,
// off the server's event loop, on a read-only connection of this thread's own. It answers one request,
// then the thread that started it ends it. scripts/build.js emits it as its own entry point.

parentPort?.once('message', (request: AuditWorkerRequest) => {
  let answer: AuditWorkerAnswer;
  try {
    const db = openReader(request.dbPath, request.file);
    try {
      // One read transaction: the walk, the sealed head and the triggers come from one snapshot.
      answer = { verification: db.transaction(() => verifyAuditChain(db, request.key, request.kept))() };
    } finally {
      db.close();
    }
  } catch (err) {
    // Only the message and SQLite's code go back: store errors become exit 8 on the other side.
    answer = {
      error: {
        message: err instanceof Error ? err.message : String(err),
        code: (err as { code?: unknown }).code === undefined ? undefined : String((err as { code?: unknown }).code),
        // "Back end unavailable" of our own (the file was replaced): its slug, to be thrown as such.
        ...(err instanceof Unavailable ? { unavailable: err.slug } : {}),
      },
    };
  } finally {
    request.key.fill(0);
  }
  parentPort!.postMessage(answer);
});
