import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { BIN, type Home } from './helpers.js';

/**
 * A real terminal for prompt tests: the CLI runs in a tmux pane (a pseudo-terminal), keys are typed
 * with send-keys and the screen is read with capture-pane, as a person would see it.
 */
export class Terminal {
  private readonly socket = `acctsec-test-${randomBytes(4).toString('hex')}`;

  private constructor() {}

  /**
   * `size`: the pane's columns and rows (120×40 unless given). `env`: variables set (a string) or
   * unset (null) for the command only, after tmux has set the pane's own (TERM).
   */
  static async start(
    home: Home,
    args: string[],
    options: { size?: [number, number]; env?: Record<string, string | null> } = {},
  ): Promise<Terminal> {
    await home.ready();
    const t = new Terminal();
    const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    const quoted = args.map(quote).join(' ');
    const env = Object.entries(options.env ?? {}).map(([k, v]) => (v === null ? `-u ${k}` : quote(`${k}=${v}`)));
    const [columns, rows] = options.size ?? [120, 40];
    // CI is unset inside the pane: it would switch prompting off, and this test is about prompting.
    const command = `env -u CI ${env.join(' ')} node ${BIN} ${quoted}; echo "[exit $?]"; sleep 60`;
    await execa(
      'tmux',
      ['-L', t.socket, '-f', '/dev/null', 'new-session', '-d', '-x', String(columns), '-y', String(rows), command],
      {
        env: home.env,
        extendEnv: false,
      },
    );
    return t;
  }

  /** The screen and its scrollback; `joined`: a line the terminal wrapped comes back as one. */
  async screen(joined = false): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-S', '-200', ...(joined ? ['-J'] : [])]);
    return String(r.stdout);
  }

  /** What is on the screen now (no scrollback), with its colours as SGR escape sequences and trailing (coloured) spaces. */
  async visibleWithColours(): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-e', '-N'], { stripFinalNewline: false });
    return String(r.stdout);
  }

  /** Waits until the screen shows `text` `times` times (prompts repeat), or fails after 15 s. */
  async waitFor(text: string | RegExp, times = 1): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const screen = await this.screen();
      const count =
        typeof text === 'string' ? screen.split(text).length - 1 : (screen.match(new RegExp(text, 'g')) ?? []).length;
      if (count >= times) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async type(text: string): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', '-l', text]);
    await execa('tmux', ['-L', this.socket, 'send-keys', 'Enter']);
  }

  async keys(...keys: string[]): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }

  async stop(): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'kill-server'], { reject: false });
  }
}
