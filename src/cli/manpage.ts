import { flatten, type CommandInfo } from './command-tree.js';

// man/acctsec.1, generated from the command tree (issue #9): every command with its options, the
// exit codes, environment, files and examples. Checked by `mandoc -T lint` in the tests.

export interface ManPageInput {
  tree: CommandInfo;
  version: string;
  date: string;
  exitCodes: [number, string][];
  environment: [string, string][];
  examples: Record<string, string[]>;
}

/** roff text: backslashes escaped, hyphens literal, no line starting with a control character. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');
}

function synopsis(c: CommandInfo): string {
  const args = c.args.map((a) => {
    const name = `${a.name}${a.variadic ? '...' : ''}`;
    return a.required ? `\\fI${esc(name)}\\fR` : `[\\fI${esc(name)}\\fR]`;
  });
  return [`\\fB${esc(c.path)}\\fR`, ...(c.options.length ? ['[\\fIoptions\\fR]'] : []), ...args].join(' ');
}

export function manPage(input: ManPageInput): string {
  const { tree } = input;
  const out: string[] = [];
  out.push(`.\\" ${'generated from the command tree by `npm run generate`; do not edit'}`);
  out.push(`.TH ACCTSEC 1 ${input.date} "acctsec ${input.version}" "User Commands"`);
  out.push(
    '.SH NAME',
    'acctsec \\- account security manager: password, MFA, recovery codes, IP restriction, access tokens',
  );
  out.push(
    '.SH SYNOPSIS',
    '.B acctsec',
    '[\\fIglobal options\\fR]',
    '\\fIcommand\\fR',
    '[\\fIoptions\\fR]',
    '[\\fIarguments\\fR]',
  );
  out.push(
    '.SH DESCRIPTION',
    esc(
      "acctsec does from a terminal what a hosting provider's Security settings page does: change the password, turn on an authenticator app or email codes, view and regenerate recovery codes, restrict use to chosen IP ranges, create and revoke personal access tokens, manage recovery addresses and notification preferences, and, for support staff, reset other accounts.",
    ),
    '.PP',
    esc(
      'State lives in an embedded SQLite database, or on a remote acctsec serve reached with --remote. Secrets are never taken as arguments: passwords come from a masked prompt, --password-stdin or ACCTSEC_PASSWORD; tokens to check come from stdin. With --no-input (automatic without a terminal or when CI is set), a value that would be prompted for is an error naming the flag or variable that supplies it.',
    ),
  );
  out.push('.SH GLOBAL OPTIONS');
  for (const o of tree.options) out.push('.TP', `.B ${esc(o.flags)}`, esc(o.description));
  out.push('.SH COMMANDS');
  for (const c of flatten(tree).slice(1)) {
    out.push('.SS', synopsis(c).replace(/^/, ''));
    out.push(esc(c.description));
    for (const a of c.args) {
      if (a.description || a.choices.length) {
        out.push(
          '.TP',
          `.I ${esc(a.name)}`,
          esc([a.description, a.choices.length ? `one of: ${a.choices.join(', ')}` : ''].filter(Boolean).join('; ')),
        );
      }
    }
    for (const o of c.options) {
      out.push(
        '.TP',
        `.B ${esc(o.flags)}`,
        esc([o.description, o.choices.length ? `one of: ${o.choices.join(', ')}` : ''].filter(Boolean).join('; ')),
      );
    }
  }
  out.push('.SH EXIT STATUS');
  for (const [code, meaning] of input.exitCodes) out.push('.TP', `.B ${code}`, esc(meaning));
  out.push('.SH ENVIRONMENT');
  for (const [name, meaning] of input.environment) out.push('.TP', `.B ${esc(name)}`, esc(meaning));
  out.push(
    '.SH FILES',
    '.TP',
    '.I $XDG_DATA_HOME/acctsec/acctsec.db',
    esc("the local database (mode 0600, folder 0700); --db, ACCTSEC_DB or the profile's db choose another"),
    '.TP',
    '.I $XDG_DATA_HOME/acctsec/acctsec.db.key',
    esc('the at-rest encryption key (mode 0600), created by init; ACCTSEC_ENCRYPTION_KEY overrides it'),
    '.TP',
    '.I $XDG_CONFIG_HOME/acctsec/config.json',
    esc('profiles, settings and session tokens (mode 0600); acctsec config path prints it'),
    '.TP',
    '.I $XDG_STATE_HOME/acctsec/outbox/',
    esc('one .eml file per message (mode 0600) when mail.smtp is not set'),
  );
  out.push('.SH EXAMPLES');
  const pick: [string, string][] = [
    ['Interactive: create the database and turn on an authenticator app', ''],
    ['', 'acctsec init'],
    ['', 'acctsec mfa totp enable'],
    ['In CI: sign in without a terminal, then create a scoped token', ''],
    ['', 'ACCTSEC_PASSWORD=... acctsec login \\-\\-username ci\\-bot \\-\\-no\\-input'],
    ['', 'acctsec token create \\-\\-name deploy \\-\\-scope dns:write \\-\\-expires 90d \\-\\-json'],
    ["Support: reset a user's second factors after verifying them", ''],
    ['', 'acctsec admin reset\\-mfa bob \\-\\-reason "lost phone, verified by video call" \\-\\-yes'],
    ['Remote: use a shared server', ''],
    ['', 'acctsec \\-\\-remote https://acctsec.example.com:7400 login \\-\\-username alice'],
  ];
  pick.forEach(([title, line], i) => {
    if (title) out.push(...(i === 0 ? [] : ['.PP']), esc(title));
    else out.push('.RS', '.nf', line, '.fi', '.RE');
  });
  out.push('.SH SEE ALSO', '.BR sqlite3 (1)');
  return out.join('\n') + '\n';
}
