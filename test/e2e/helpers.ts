import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { inject } from 'vitest';
import { spawnTimes } from '../rfc6238.js';

export const BIN = fileURLToPath(new URL('../../bin/acctsec.cjs', import.meta.url));
export const PASSWORD = 'correct horse battery staple';

/**
 * The end-to-end suite runs twice (vitest.config.ts): against a local database, and with
 * ACCTSEC_E2E_MODE=remote against an `acctsec serve` on a free loopback port, one server per Home.
 */
export const REMOTE = process.env.ACCTSEC_E2E_MODE === 'remote';

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * The homes `init` made in this worker, by username (Home.init copies them), and when; removed when the
 * worker ends. A copy is made from a template at most TEMPLATE_LIFE_MS old: what `init` starts (the
 * confirmation code it mails lives 10 minutes) is then as fresh in the copy as a test expects.
 */
const templates = new Map<string, { made: number; home: Promise<{ dir: string; result: Result }> }>();
const TEMPLATE_LIFE_MS = 3 * 60_000;
/** test/global-setup.ts's folder, removed when the run ends. */
const templateRoot = (): string => inject('runTempRoot');

/** A user's home of its own: temp HOME and XDG dirs, no colour, nothing inherited from ACCTSEC_*. */
export class Home {
  readonly dir: string;
  readonly env: Record<string, string>;
  private server: ResultPromise | undefined;
  private started: Promise<void> | undefined;

  /** `remote`: this home talks to its own `acctsec serve` (default: the suite's mode); `parent`: where its folder is made. */
  constructor(
    readonly remote = REMOTE,
    parent = tmpdir(),
  ) {
    this.dir = mkdtempSync(join(parent, 'acctsec-e2e-'));
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('ACCTSEC_') && !k.startsWith('XDG_')),
    );
    this.env = {
      ...(inherited as Record<string, string>),
      HOME: this.dir,
      XDG_CONFIG_HOME: join(this.dir, '.config'),
      XDG_DATA_HOME: join(this.dir, '.local/share'),
      XDG_STATE_HOME: join(this.dir, '.local/state'),
      NO_COLOR: '1',
    };
  }

  /** In remote mode the database is the server's. */
  get dbPath(): string {
    return this.remote ? join(this.dir, 'server', 'acctsec.db') : join(this.dir, '.local/share/acctsec/acctsec.db');
  }

  /** Remote mode: starts this home's server once and points the client at it. */
  ready(): Promise<void> {
    if (!this.remote) return Promise.resolve();
    this.started ??= new Promise<void>((resolve, reject) => {
      const server = execa('node', [BIN, 'serve', '--db', this.dbPath, '--listen', '127.0.0.1:0', '--create'], {
        env: this.env,
        extendEnv: false,
        reject: false,
      });
      this.server = server;
      let out = '';
      server.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (url) {
          this.env.ACCTSEC_REMOTE = url;
          // The operator's copy of the one-time secret that lets `init` set up this empty server.
          this.env.ACCTSEC_BOOTSTRAP_SECRET = readFileSync(`${this.dbPath}.bootstrap-secret`, 'utf8').trim();
          resolve();
        }
      });
      void server.then((r) => reject(new Error(`acctsec serve ended: ${String(r.stderr)}`)));
    });
    return this.started;
  }

  get url(): string | undefined {
    return this.env.ACCTSEC_REMOTE;
  }

  async run(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
    // `config` is the client's own file: it needs no server (and the server reads it when it starts).
    if (args[0] !== 'config') await this.ready();
    const started = performance.now();
    const r = await execa('node', [BIN, ...args], {
      reject: false,
      env: { ...this.env, ...options.env },
      extendEnv: false,
      input: options.input ?? '',
    });
    spawnTimes.push(performance.now() - started);
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  /**
   * Starts a command without waiting for it: for commands that print something the test acts on
   * (a security key page's URL) before they finish. `stderrMatch` resolves with the first match.
   */
  async start(
    args: string[],
    stderrPattern: RegExp,
    options: { env?: Record<string, string>; input?: string } = {},
  ): Promise<{ match: Promise<RegExpExecArray>; done: Promise<Result> }> {
    await this.ready();
    const child = execa('node', [BIN, ...args], {
      reject: false,
      env: { ...this.env, ...options.env },
      extendEnv: false,
      input: options.input ?? '',
    });
    let err = '';
    const match = new Promise<RegExpExecArray>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const m = stderrPattern.exec(err);
        if (m) resolve(m);
      });
      void child.then((r) =>
        reject(
          new Error(
            `${args.join(' ')} ended (exit ${r.exitCode}) before printing ${stderrPattern}: ${String(r.stderr)}`,
          ),
        ),
      );
    });
    const done = child.then((r) => ({
      stdout: String(r.stdout),
      stderr: String(r.stderr),
      exitCode: r.exitCode ?? -1,
    }));
    return { match, done };
  }

  /**
   * A signed-in user with PASSWORD, as `acctsec init` leaves one; fails the test when init does not exit 0.
   *
   * `init` is the dearest command (an argon2 hash, the password-strength dictionaries, the key file, a
   * confirmation mail): run in every test, it was a sixth of the end-to-end suite's CPU (issue #16). So a
   * test worker runs the real `init` once per username (and again after TEMPLATE_LIFE_MS), in a home of its
   * own, and later fresh homes get a copy of that home (database, key file, config, outbox), with the
   * home's path rewritten in the config and in the output returned. A home that is not fresh, talks to a
   * server, or was given ACCTSEC_* settings (SMTP, another database...) runs `init` itself; a test of `init`
   * runs the command.
   */
  async init(username = 'alice'): Promise<Result> {
    const copyable =
      !this.remote &&
      readdirSync(this.dir).length === 0 &&
      !Object.keys(this.env).some((k) => k.startsWith('ACCTSEC_'));
    if (!copyable) return this.runInit(username);
    let template = templates.get(username);
    if (!template || Date.now() - template.made > TEMPLATE_LIFE_MS) {
      const made = new Home(false, templateRoot());
      template = { made: Date.now(), home: made.runInit(username).then((result) => ({ dir: made.dir, result })) };
      templates.set(username, template);
    }
    const { dir, result } = await template.home;
    cpSync(dir, this.dir, { recursive: true });
    const config = join(this.dir, '.config/acctsec/config.json');
    writeFileSync(config, readFileSync(config, 'utf8').replaceAll(dir, this.dir));
    const moved = (text: string) => text.replaceAll(dir, this.dir);
    return { ...result, stdout: moved(result.stdout), stderr: moved(result.stderr) };
  }

  private async runInit(username: string): Promise<Result> {
    const r = await this.run(['init', '--username', username, '--email', `${username}@example.com`, '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    if (r.exitCode !== 0) throw new Error(`init failed: ${r.stderr}`);
    return r;
  }

  async remove(): Promise<void> {
    if (this.server) {
      this.server.kill('SIGTERM');
      await this.server;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function json<T = Record<string, unknown>>(r: Result): T {
  return JSON.parse(r.stdout) as T;
}

/** A free port on `host`: for a server that must be told its own URL (--public-url) before it listens. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
