import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, PASSWORD } from '../e2e/helpers.js';
import { BACKENDS, failure, initAlice } from '../contract/harness.js';
import { startServe, type Served } from './serve.js';

// Issue #19 §1: faults of the database file fail closed and loud: exit 8 (503 remotely) naming the
// file, nothing changed, never an acknowledged write that is not in the file at the database's path.

const noTrace = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('the database file under `acctsec serve` (issue #19)', () => {
  let home: Home;
  let served: Served | undefined;
  beforeEach(() => {
    home = new Home();
  });
  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await home.remove();
  });

  it('refuses a missing --db (exit 4), naming init and --create; creates nothing', async () => {
    const db = join(home.dir, 'missing.db');
    const r = await home.run(['serve', '--db', db, '--listen', '127.0.0.1:0']);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toContain(`no acctsec database at ${db}`);
    expect(r.stderr).toContain(`acctsec init --db ${db}`);
    expect(r.stderr).toContain('--create');
    noTrace(r.stderr);
    expect(existsSync(db)).toBe(false);
    expect(existsSync(`${db}.bootstrap-secret`)).toBe(false);
  });

  it('--create makes an empty database (0600) and its bootstrap secret; init over HTTP sets it up', async () => {
    served = await startServe(home);
    const db = join(home.dir, 'srv.db');
    expect(statSync(db).mode & 0o777).toBe(0o600);
    expect(served.secret).not.toBe('');
    await home.init();
  });

  async function createToken(name: string) {
    return home.run(['token', 'create', '--name', name, '--scope', 'dns:read', '--json']);
  }

  it('removed under a running server (with -wal and -shm): the next write is 503 / exit 8, never a 200; the log says so', async () => {
    served = await startServe(home);
    await home.init();
    expect((await createToken('before')).exitCode).toBe(0);
    const db = join(home.dir, 'srv.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    const after = await createToken('after');
    expect(after.exitCode, after.stdout).toBe(8);
    expect(after.stderr).toMatch(/was removed while it was open/);
    noTrace(after.stderr);
    // Reads too, once the server noticed; and the operator's log names the file.
    expect((await home.run(['token', 'list'])).exitCode).toBe(8);
    await expect.poll(() => served!.stderr(), { timeout: 5000 }).toMatch(/database: .*srv\.db was removed/);
  });

  it('replaced (`mv other.db srv.db`) under a running server: no write is acknowledged after the swap', async () => {
    served = await startServe(home);
    await home.init();
    const db = join(home.dir, 'srv.db');
    // A copy of the database as it is now, swapped in by rename, as an operator restoring a backup would.
    const copy = join(home.dir, 'other.db');
    execFileSync('sqlite3', [db, `.backup ${copy}`]);
    const names = ['t1', 't2', 't3'];
    expect((await createToken('before-swap')).exitCode).toBe(0);
    renameSync(copy, db);
    for (const name of names) {
      const r = await createToken(name);
      expect(r.exitCode, `${name}: ${r.stdout}`).toBe(8);
      expect(r.stderr).toMatch(/was replaced by another file/);
    }
    await served.stop();
    served = undefined;
    // Nothing that was answered 200 is missing from the file at the path; nothing refused is in it.
    const rows = new Database(db, { readonly: true }).prepare('SELECT name FROM tokens').all() as { name: string }[];
    expect(rows.map((r) => r.name)).not.toEqual(expect.arrayContaining(['t1']));
  });
});

describe('database files that acctsec must not use (issue #19)', () => {
  let home: Home;
  beforeEach(() => {
    home = new Home(false);
  });
  afterEach(() => home.remove());

  it('a database from a newer acctsec: exit 8 naming both schema versions, for commands and for serve; unchanged', async () => {
    await home.init();
    const sqlite = new Database(home.dbPath);
    const known = sqlite.pragma('user_version', { simple: true }) as number;
    sqlite.pragma(`user_version = ${known + 5}`);
    sqlite.close();
    const before = statSync(home.dbPath).mtimeMs;
    for (const args of [['status'], ['token', 'create', '--name', 'x', '--scope', 'dns:read']]) {
      const r = await home.run(args);
      expect(r.exitCode, r.stderr).toBe(8);
      expect(r.stderr).toContain(`created by a newer acctsec (schema ${known + 5}, this build knows ${known})`);
      noTrace(r.stderr);
    }
    const serve = await home.run(['serve', '--db', home.dbPath, '--listen', '127.0.0.1:0']);
    expect(serve.exitCode).toBe(8);
    expect(serve.stderr).toContain('newer acctsec');
    const check = new Database(home.dbPath, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(known + 5);
    check.close();
    expect(statSync(home.dbPath).mtimeMs).toBe(before);
  });

  it('a 0-byte file is refused (exit 8), by commands and by init, and stays 0 bytes', async () => {
    const db = join(home.dir, 'empty.db');
    writeFileSync(db, '');
    for (const args of [
      ['--db', db, 'login', '--username', 'alice', '--no-input'],
      ['--db', db, 'init', '--username', 'alice', '--email', 'alice@example.com', '--no-input'],
    ]) {
      const r = await home.run(args, { env: { ACCTSEC_PASSWORD: PASSWORD } });
      expect(r.exitCode, r.stderr).toBe(8);
      expect(r.stderr).toContain(`the database file ${db} is empty (0 bytes)`);
      noTrace(r.stderr);
    }
    expect(statSync(db).size).toBe(0);
    expect(existsSync(`${db}-wal`)).toBe(false);
  });

  it('init on a database file that exists (made by serve --create) at mode 0644 leaves it 0600', async () => {
    const db = join(home.dir, 'made.db');
    const served = await startServe(home, [], 'made.db');
    await served.stop();
    delete home.env.ACCTSEC_REMOTE;
    chmodSync(db, 0o644);
    const r = await home.run(
      ['--db', db, 'init', '--username', 'alice', '--email', 'alice@example.com', '--no-input'],
      {
        env: { ACCTSEC_PASSWORD: PASSWORD },
      },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(db).mode & 0o777).toBe(0o600);
  });

  it('while another process holds the write lock: reads answer at once; a write waits 10 s and says how long it waited (exit 8)', async () => {
    await home.init();
    // The session was last seen two minutes ago: reading marks its use (a write), which must not wait.
    const sqlite = new Database(home.dbPath);
    sqlite.prepare('UPDATE sessions SET last_seen_at = last_seen_at - 120000').run();
    sqlite.close();
    // The sqlite3 shell takes the write lock and keeps it until the end of the test.
    const holder = spawn('sqlite3', [home.dbPath], { stdio: ['pipe', 'ignore', 'ignore'] });
    holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO meta VALUES ('held', '1');\n");
    await new Promise((r) => setTimeout(r, 500));
    try {
      const started = performance.now();
      const write = home.run(['token', 'create', '--name', 'w', '--scope', 'dns:read']);
      const reads = await Promise.all(
        [['status'], ['token', 'list'], ['mfa', 'status'], ['ip', 'list']].map(async (args) => {
          const t = performance.now();
          const r = await home.run(args);
          return { args, r, ms: performance.now() - t };
        }),
      );
      for (const { args, r, ms } of reads) {
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(ms, args.join(' ')).toBeLessThan(5000);
      }
      const w = await write;
      const waited = (performance.now() - started) / 1000;
      expect(w.exitCode, w.stderr).toBe(8);
      const said = Number(/held its write lock for the ([\d.]+) s this command waited/.exec(w.stderr)?.[1]);
      expect(said).toBeGreaterThanOrEqual(9.5);
      expect(said).toBeLessThanOrEqual(waited);
      noTrace(w.stderr);
    } finally {
      holder.stdin.end('ROLLBACK;\n');
      holder.kill();
    }
  });

  // A real full disk: a 1 MiB tmpfs holding the database (root only; CI runs as root). The store test
  // (test/store/db.test.ts) checks the same error through SQLite's page limit everywhere.
  const canMount = process.getuid?.() === 0 && process.platform === 'linux';
  it.runIf(canMount)(
    'a full disk is exit 8 naming the file and "no space left on device"; nothing written',
    async () => {
      const mnt = join(home.dir, 'small');
      mkdirSync(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
      try {
        const db = join(mnt, 'acctsec.db');
        const init = await home.run(
          ['--db', db, 'init', '--username', 'alice', '--email', 'alice@example.com', '--no-input'],
          { env: { ACCTSEC_PASSWORD: PASSWORD } },
        );
        expect(init.exitCode, init.stderr).toBe(0);
        // Fill the rest of the file system.
        try {
          execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'fill')}`, 'bs=4k'], { stdio: 'ignore' });
        } catch {
          // dd ends with "No space left on device": that was the point.
        }
        let refused: { exitCode: number; stderr: string } | undefined;
        let created = 0;
        for (let i = 0; i < 200 && !refused; i++) {
          const r = await home.run(['--db', db, 'token', 'create', '--name', `t${i}`, '--scope', 'dns:read']);
          if (r.exitCode === 0) created++;
          else refused = r;
        }
        expect(refused, 'a write was refused').toBeDefined();
        expect(refused!.exitCode, refused!.stderr).toBe(8);
        expect(refused!.stderr).toContain(db);
        expect(refused!.stderr).toContain('no space left on device');
        noTrace(refused!.stderr);
        // Every token that was answered is in the file; the refused one is not.
        rmSync(join(mnt, 'fill'));
        const names = (
          new Database(db, { readonly: true }).prepare('SELECT name FROM tokens').all() as { name: string }[]
        ).map((r) => r.name);
        expect(names).toHaveLength(created);
        expect(names).not.toContain(`t${created}`);
      } finally {
        execFileSync('umount', ['-l', mnt]);
      }
    },
  );
});

describe('the file check around every route of the server (issue #19 review)', () => {
  const remote = BACKENDS.find((b) => b.name === 'remote')!;

  it('replaced while a failing call runs (a wrong password): the answer is 503 store_replaced, not exit 3', async () => {
    let swap = false;
    const world = await remote.world({
      checkStore: {
        duringCall: (op) => {
          if (!swap || op !== 'signIn') return;
          swap = false;
          const db = join(world.dir, 'acctsec.db');
          execFileSync('sqlite3', [db, `.backup ${db}.copy`]);
          renameSync(`${db}.copy`, db);
        },
      },
    });
    try {
      await initAlice(world);
      swap = true;
      const err = await failure(world.anonymous().signIn({ username: 'alice', password: 'not the password' }));
      expect(err).toMatchObject({ exitCode: 8 });
      expect(err.message).toMatch(/was replaced by another file/);
    } finally {
      await world.close();
    }
  });

  it('a read (GET) after the file was replaced is 503 at once, not an answer from the old file', async () => {
    const world = await remote.world({ checkStore: { duringCall: () => undefined } });
    try {
      const { me } = await initAlice(world);
      expect((await me.listTokens()).length).toBe(0);
      const db = join(world.dir, 'acctsec.db');
      execFileSync('sqlite3', [db, `.backup ${db}.copy`]);
      renameSync(`${db}.copy`, db);
      const err = await failure(me.listTokens());
      expect(err).toMatchObject({ exitCode: 8 });
    } finally {
      await world.close();
    }
  });
});
