import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const BIN = fileURLToPath(new URL('../../bin/acctsec.js', import.meta.url));
export const PASSWORD = 'correct horse battery staple';

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A user's home of its own: temp HOME and XDG dirs, no colour, nothing inherited from ACCTSEC_*. */
export class Home {
  readonly dir = mkdtempSync(join(tmpdir(), 'acctsec-e2e-'));
  readonly env: Record<string, string>;

  constructor() {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ACCTSEC_') && !k.startsWith('XDG_')));
    this.env = {
      ...(inherited as Record<string, string>),
      HOME: this.dir,
      XDG_CONFIG_HOME: join(this.dir, '.config'),
      XDG_DATA_HOME: join(this.dir, '.local/share'),
      XDG_STATE_HOME: join(this.dir, '.local/state'),
      NO_COLOR: '1',
    };
  }

  get dbPath(): string {
    return join(this.dir, '.local/share/acctsec/acctsec.db');
  }

  async run(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
    const r = await execa('node', [BIN, ...args], {
      reject: false,
      env: { ...this.env, ...options.env },
      extendEnv: false,
      input: options.input ?? '',
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  /** `acctsec init` for alice with PASSWORD; fails the test when it does not exit 0. */
  async init(username = 'alice'): Promise<Result> {
    const r = await this.run(['init', '--username', username, '--email', `${username}@example.com`, '--no-input'], {
      env: { ACCTSEC_PASSWORD: PASSWORD },
    });
    if (r.exitCode !== 0) throw new Error(`init failed: ${r.stderr}`);
    return r;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function json<T = Record<string, unknown>>(r: Result): T {
  return JSON.parse(r.stdout) as T;
}
