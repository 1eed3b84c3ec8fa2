import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { Home, PASSWORD } from '../e2e/helpers.js';
import { startServe } from './serve.js';

// Issue #19 review: a remote `admin users export` whose client stops reading must not hold the
// server's database connection: other requests (a sign-in, a token) still get their answers.

describe('a streamed export read slowly (issue #19 review)', () => {
  it('while a client reads nothing of a large export, writes on the server still succeed; it is cut when the client leaves', async () => {
    const home = new Home(false);
    try {
      await home.init();
      // 60,000 accounts (about 8 MB of answer, more than the socket buffers take) written locally, then the same file served.
      const csv = join(home.dir, 'many.csv');
      const rows = Array.from({ length: 60_000 }, (_, i) => `user${i},user${i}@example.com`);
      writeFileSync(csv, `username,email\n${rows.join('\n')}\n`);
      const imp = await home.run([
        'admin',
        'users',
        'import',
        csv,
        '--reason',
        'load',
        '--tokens-to',
        join(home.dir, 't.csv'),
        '--yes',
      ]);
      expect(imp.exitCode, imp.stderr).toBe(0);
      const served = await startServe(home, [], '.local/share/acctsec/acctsec.db');
      try {
        const login = await home.run(['login', '--username', 'alice', '--no-input'], {
          env: { ACCTSEC_PASSWORD: PASSWORD },
        });
        expect(login.exitCode, login.stderr).toBe(0);
        const config = JSON.parse(readFileSync(join(home.dir, '.config/acctsec/config.json'), 'utf8')) as {
          profiles: { default: { session: { token: string } } };
        };
        const token = config.profiles.default.session.token;
        const slow = await request(`${served.url}/v1/admin/users/export`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(slow.statusCode).toBe(200);
        // The client reads nothing more: the server's socket buffer fills up.
        await new Promise((r) => setTimeout(r, 1000));
        const write = await home.run(['token', 'create', '--name', 'during-export', '--scope', 'dns:read']);
        expect(write.exitCode, write.stderr).toBe(0);
        slow.body.destroy();
        await new Promise((r) => setTimeout(r, 500));
        expect((await home.run(['token', 'create', '--name', 'after-export', '--scope', 'dns:read'])).exitCode).toBe(0);
      } finally {
        await served.stop();
      }
      expect(served.stderr()).not.toContain('busy executing a query');
    } finally {
      await home.remove();
    }
  }, 120_000);
});
