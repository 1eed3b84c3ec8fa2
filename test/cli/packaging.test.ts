import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BIN, Home, json } from '../e2e/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const file = (p: string) => join(ROOT, p);

describe('shell completion in real shells', () => {
  const home = new Home();
  let env: Record<string, string>;
  const bins: string[] = [];

  beforeAll(async () => {
    await home.init();
    expect((await home.run(['token', 'create', '--name', 'deploy-bot', '--scope', 'dns:read'])).exitCode).toBe(0);
    // `acctsec` on the PATH, as an installed package puts it.
    const bin = mkdtempSync(join(tmpdir(), 'acctsec-bin-'));
    bins.push(bin);
    symlinkSync(BIN, join(bin, 'acctsec'));
    env = { ...home.env, PATH: `${bin}:${process.env.PATH}` };
  });
  afterAll(async () => {
    await home.remove();
    for (const b of bins) rmSync(b, { recursive: true, force: true });
  });

  /** Candidates for a command line ending where the cursor is (a trailing space: a new word). */
  async function bash(line: string): Promise<string[]> {
    const script = `source ${file('completions/acctsec.bash')}; read -ra w <<< "$LINE"; [[ "$LINE" == *" " ]] && w+=(""); COMP_WORDS=("\${w[@]}"); COMP_CWORD=$((\${#w[@]}-1)); _acctsec; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = await execa('bash', ['-c', script], { env: { ...env, LINE: line }, extendEnv: false });
    return String(r.stdout).split('\n').filter(Boolean).sort();
  }

  async function zsh(line: string): Promise<string[]> {
    // compadd only works inside a completion widget: a function of that name stands in to print.
    const script = `source ${file('completions/_acctsec')}; compadd() { shift; print -l -- "$@"; }; words=(\${(z)LINE}); [[ "$LINE" == *" " ]] && words+=(""); CURRENT=\${#words}; _acctsec`;
    const r = await execa('zsh', ['-f', '-c', script], { env: { ...env, LINE: line }, extendEnv: false });
    return String(r.stdout).split('\n').filter(Boolean).sort();
  }

  async function fish(line: string): Promise<string[]> {
    const r = await execa(
      'fish',
      ['--no-config', '-c', `source ${file('completions/acctsec.fish')}; complete -C"$LINE"`],
      { env: { ...env, LINE: line }, extendEnv: false },
    );
    return String(r.stdout)
      .split('\n')
      .map((l) => l.split('\t')[0]!)
      .filter(Boolean)
      .sort();
  }

  const cases: [string, string, (c: string[]) => void][] = [
    ['depth 1', 'acctsec to', (c) => expect(c).toEqual(['token'])],
    ['depth 2', 'acctsec mfa totp ', (c) => expect(c).toEqual(['confirm', 'disable', 'enable'])],
    ['an option value', 'acctsec login --method ', (c) => expect(c).toEqual(['email', 'key', 'recovery', 'totp'])],
    ['an argument value', 'acctsec notifications format ', (c) => expect(c).toEqual(['html', 'text'])],
    ['options of a command', 'acctsec token create --s', (c) => expect(c).toEqual(['--scope', '--send-code'])],
    ['a dynamic token name', 'acctsec token revoke ', (c) => expect(c).toContain('deploy-bot')],
    ['profiles', 'acctsec --profile ', (c) => expect(c).toEqual(['default'])],
  ];

  for (const [shell, complete] of [
    ['bash', bash],
    ['zsh', zsh],
    ['fish', fish],
  ] as const) {
    it.each(cases)(`${shell}: %s`, async (_name, line, check) => {
      check((await complete(line)).filter((c) => c.startsWith(line.split(' ').at(-1) ?? '')));
    });
  }

  it('dynamic completion prints nothing, and never prompts, when there is no session', async () => {
    const other = new Home();
    try {
      const r = await execa('node', [BIN, '__complete', 'tokens'], {
        env: other.env,
        extendEnv: false,
        reject: false,
        input: '',
      });
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
    } finally {
      await other.remove();
    }
  });
});

describe('generated files', () => {
  it('the committed completions and man page are what the generator writes now', async () => {
    const r = await execa('node', [join(ROOT, 'dist/generate.js'), '--check'], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it.each([
    ['bash', 'completions/acctsec.bash'],
    ['zsh', 'completions/_acctsec'],
    ['fish', 'completions/acctsec.fish'],
  ])('`acctsec completion %s` prints the committed script', async (shell, path) => {
    const r = await execa('node', [BIN, 'completion', shell]);
    expect(`${String(r.stdout)}\n`).toBe(readFileSync(file(path), 'utf8'));
  });

  it('mandoc -T lint reports nothing above style level, and man renders the page', async () => {
    const lint = await execa('mandoc', ['-T', 'lint', file('man/acctsec.1')], { reject: false });
    const serious = `${String(lint.stdout)}\n${String(lint.stderr)}`
      .split('\n')
      .filter((l) => l.trim() && !/: STYLE: /.test(l));
    expect(serious).toEqual([]);
    const man = await execa('man', ['-l', file('man/acctsec.1')], {
      env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' },
    });
    for (const section of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      'EXIT STATUS',
      'ENVIRONMENT',
      'FILES',
      'EXAMPLES',
      'SEE ALSO',
    ]) {
      expect(String(man.stdout)).toContain(section);
    }
    const page = readFileSync(file('man/acctsec.1'), 'utf8');
    for (const v of [
      'ACCTSEC_PASSWORD',
      'ACCTSEC_TOKEN',
      'ACCTSEC_REMOTE',
      'NO_COLOR',
      'admin audit verify',
      'mfa totp enable',
    ])
      expect(page).toContain(v.replace(/-/g, '\\-'));
  });

  it('npm pack ships the man page, the completions, dist and bin; package.json installs the man page', async () => {
    const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(String(r.stdout)) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of [
      'man/acctsec.1',
      'completions/acctsec.bash',
      'completions/_acctsec',
      'completions/acctsec.fish',
      'bin/acctsec.cjs',
      'dist/main.cjs',
      'dist/main.cjs.cache',
    ])
      expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
    expect((JSON.parse(readFileSync(file('package.json'), 'utf8')) as { man: unknown }).man).toEqual([
      './man/acctsec.1',
    ]);
  });
});

describe('the quick start', () => {
  it('`npm link` puts acctsec on the PATH, as the README says', async () => {
    // A prefix of the test's own, so nothing outside it changes; scripts off, because npm link would
    // otherwise run `prepare` and rebuild dist/ under the other tests running at the same time.
    const prefix = mkdtempSync(join(tmpdir(), 'acctsec-prefix-'));
    onTestFinished(() => rmSync(prefix, { recursive: true, force: true }));
    const env = {
      ...process.env,
      npm_config_prefix: prefix,
      npm_config_cache: join(prefix, '.npm'),
      npm_config_ignore_scripts: 'true',
    };
    const link = await execa('npm', ['link', '--no-audit', '--no-fund'], { cwd: ROOT, env, reject: false });
    expect(link.exitCode, String(link.stderr)).toBe(0);
    const r = await execa('acctsec', ['--version'], {
      env: { ...env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` },
      reject: false,
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).trim()).toBe(
      (JSON.parse(readFileSync(file('package.json'), 'utf8')) as { version: string }).version,
    );
  });
});

describe('version', () => {
  it('`acctsec --version` into a reader that went away exits 0 without a word, as the full CLI does', async () => {
    for (const args of [['--version'], ['--version', '--quiet']]) {
      const r = await execa('bash', ['-c', 'set -o pipefail; (sleep 0.3; node "$0" "$@") | true', BIN, ...args], {
        reject: false,
      });
      expect({ exitCode: r.exitCode, stderr: String(r.stderr) }, args.join(' ')).toEqual({ exitCode: 0, stderr: '' });
    }
  });
});

describe('help', () => {
  it('groups the top-level commands', async () => {
    const r = await execa('node', [BIN, '--help']);
    for (const group of ['Account:', 'Security:', 'Developer access:', 'Support:', 'Other:'])
      expect(String(r.stdout)).toContain(`\n${group}\n`);
  });

  // Every command of the tree is checked in-process (test/cli/unit/program.test.ts, from the same tree);
  // here the built CLI prints it, for the program, a group, commands of several groups and the last one
  // the completion script names (issue #16: one process per command was 70 processes).
  it('commands have a one-line description and at least one example, printed by the built CLI', async () => {
    const { stdout } = await execa('node', [BIN, 'completion', 'bash']);
    const paths = [...String(stdout).matchAll(/^ {4}\['(acctsec[^'|]*)'\]=/gm)].map((m) => m[1]!);
    const commands = new Set<string>(['acctsec']);
    for (const p of paths) commands.add(p);
    // every subcommand named in the tree
    for (const m of String(stdout).matchAll(/^ {4}\['(acctsec[^'|]*)'\]='([^']*)'$/gm)) {
      if (!m[2]!.startsWith('-')) for (const sub of m[2]!.split(' ')) commands.add(`${m[1]} ${sub}`);
    }
    expect(commands.size).toBeGreaterThan(70);
    const listed = [...commands];
    const sample = [
      'acctsec',
      'acctsec mfa',
      'acctsec ip add',
      'acctsec mfa totp enable',
      'acctsec admin audit verify',
    ];
    for (const c of sample) expect(listed, c).toContain(c);
    const missing: string[] = [];
    await Promise.all(
      [...sample, listed[listed.length - 1]!].map(async (c) => {
        const r = await execa('node', [BIN, ...c.split(' ').slice(1), '--help'], { reject: false });
        const out = String(r.stdout);
        const description = out.split('\n')[2] ?? '';
        if (r.exitCode !== 0 || !description.trim() || !/\nExamples:\n {2}\$ .*acctsec/.test(out)) missing.push(c);
      }),
    );
    expect(missing).toEqual([]);
  });

  it('JSON stays valid for scripts', async () => {
    const home = new Home();
    try {
      await home.init();
      expect(json(await home.run(['status', '--json'])).username).toBe('alice');
    } finally {
      await home.remove();
    }
  });
});
