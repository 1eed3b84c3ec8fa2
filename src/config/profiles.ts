import { refusePasswordInFlag } from '../database-url.js';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Conf from 'conf';
import envPaths from 'env-paths';
import * as v from 'valibot';
import { InvalidInput, Unavailable } from '../errors.js';

// The config file (mode 0600): named profiles, each with its settings and, once signed in, the
// session token. The token is the only secret in it and is never printed by `config`.
//
// Reading is what every command does, so it is a readFileSync and a small schema check (issue #18:
// `conf` brings ajv, which cost a command more than the rest of its start-up). Writing (`config set`,
// `login`, `logout`, `init`) goes through `conf`, loaded then: atomic writes, mode 0600.

export interface SavedSession {
  token: string;
  sessionId: string;
  username: string;
  /** Where the session was opened (database path or URL): a token is only sent back there. */
  location: string;
}

export type SettingValue = string | number | boolean;

export interface Profile {
  settings: Record<string, SettingValue>;
  session?: SavedSession;
}

interface ConfigShape {
  profiles: Record<string, Profile>;
}

const SessionShape = v.object({ token: v.string(), sessionId: v.string(), username: v.string(), location: v.string() });
const FileShape = v.object({
  profiles: v.optional(
    v.record(
      v.string(),
      v.object({
        settings: v.optional(v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])), {}),
        session: v.optional(SessionShape),
      }),
    ),
    {},
  ),
});

/** Where conf keeps the file: ACCTSEC_CONFIG_DIR, else the platform's config folder (XDG on Linux). */
export function configPath(): string {
  return join(process.env.ACCTSEC_CONFIG_DIR || envPaths('acctsec', { suffix: '' }).config, 'config.json');
}

export interface SettingSpec {
  key: string;
  description: string;
  parse(value: string): SettingValue;
  default?: SettingValue;
  /** The field of the service policy this setting feeds, if any, and how the stored value maps to it. */
  policy?: string;
  policyValue?: (stored: SettingValue) => unknown;
  /** Shown redacted by `config get` and `config list` (a URL with a password in it). */
  redact?: (stored: SettingValue) => string;
}

function bool(key: string) {
  return (value: string): boolean => {
    const v = value.trim().toLowerCase();
    if (['true', 'on', 'yes', '1'].includes(v)) return true;
    if (['false', 'off', 'no', '0'].includes(v)) return false;
    throw new InvalidInput(`invalid value "${value}" for ${key}: expected true or false`, key);
  };
}

function smtpUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidInput(
      `invalid value "${value.replace(/:[^:@/]*@/, ':***@')}" for mail.smtp: expected smtp://[user:pass@]host[:port] or smtps://...`,
      'mail.smtp',
    );
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    throw new InvalidInput(
      `invalid value for mail.smtp: the scheme must be smtp:// (STARTTLS when offered) or smtps:// (TLS), not ${u.protocol}//`,
      'mail.smtp',
    );
  }
  const tls = u.searchParams.get('tls');
  if (tls !== null && tls !== 'off' && tls !== 'required') {
    throw new InvalidInput(
      `invalid value for mail.smtp: tls=${tls.slice(0, 20)} is neither off (plain text allowed) nor required (STARTTLS or nothing)`,
      'mail.smtp',
    );
  }
  return value;
}

function redactPassword(stored: SettingValue): string {
  try {
    const u = new URL(String(stored));
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return String(stored);
  }
}

function intIn(key: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
      throw new InvalidInput(`invalid value "${value}" for ${key}: expected a whole number from ${min} to ${max}`, key);
    }
    return n;
  };
}

function url(key: string) {
  return (value: string): string => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new InvalidInput(`invalid value "${value}" for ${key}: expected an http:// or https:// URL`, key);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new InvalidInput(`invalid value "${value}" for ${key}: expected an http:// or https:// URL`, key);
    }
    return u.toString().replace(/\/$/, '');
  };
}

/** Every key `acctsec config` accepts. Unknown keys are refused, so a typo never silently does nothing. */
export const settings: SettingSpec[] = [
  {
    key: 'db',
    description:
      'local database file, or a postgres:// URL without a password (overridden by --db, ACCTSEC_DATABASE_URL and ACCTSEC_DB)',
    // A password would be on the command line and in the config file: PGPASSWORD or ~/.pgpass instead.
    parse: (v) => {
      refusePasswordInFlag(v, 'db');
      return v;
    },
  },
  { key: 'remote', description: 'URL of an `acctsec serve` to use instead of a local database', parse: url('remote') },
  {
    key: 'policy.passwordMinLength',
    description: 'minimum password length in characters (12 to 256)',
    policy: 'passwordMinLength',
    parse: intIn('policy.passwordMinLength', 12, 256),
    default: 12,
  },
  {
    key: 'policy.passwordRotationMonths',
    description: 'months after which a password change is recommended',
    policy: 'passwordRotationMonths',
    parse: intIn('policy.passwordRotationMonths', 1, 120),
    default: 6,
  },
  {
    key: 'policy.sessionIdleHours',
    description: 'hours of inactivity that end a session',
    policy: 'sessionIdleHours',
    parse: intIn('policy.sessionIdleHours', 1, 24 * 30),
    default: 24,
  },
  {
    key: 'policy.sessionMaxDays',
    description: 'days after which a session ends whatever its use',
    policy: 'sessionMaxDays',
    parse: intIn('policy.sessionMaxDays', 1, 365),
    default: 14,
  },
  {
    key: 'totp.issuer',
    description: 'issuer name authenticator apps show for new enrollments',
    policy: 'totpIssuer',
    parse: (v) => {
      const name = v.trim();
      if (!name || name.length > 64 || name.includes(':')) {
        throw new InvalidInput(`invalid value "${v}" for totp.issuer: 1 to 64 characters, no ":"`, 'totp.issuer');
      }
      return name;
    },
    default: 'acctsec',
  },
  {
    key: 'policy.allowEmailMfa',
    description: 'whether accounts may turn on email codes (NIST does not count email as a factor)',
    policy: 'allowEmailMfa',
    parse: bool('policy.allowEmailMfa'),
    default: true,
  },
  {
    key: 'policy.keyUserVerification',
    description: 'security keys: preferred, required (a PIN or fingerprint on the key every time) or discouraged',
    policy: 'keyUserVerification',
    parse: (v) => {
      const value = v.trim();
      if (!['preferred', 'required', 'discouraged'].includes(value)) {
        throw new InvalidInput(
          `invalid value "${v}" for policy.keyUserVerification: use preferred, required or discouraged`,
          'policy.keyUserVerification',
        );
      }
      return value;
    },
    default: 'preferred',
  },
  {
    key: 'notifications.newsletters',
    description: 'the newsletter catalogue, comma-separated',
    policy: 'newsletters',
    policyValue: (v) =>
      String(v)
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    parse: (v) => {
      const names = v
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const bad = names.find((n) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(n));
      if (names.length === 0 || bad !== undefined) {
        throw new InvalidInput(
          `invalid newsletter name "${bad ?? v}": lower-case letters, digits, ".", "_" and "-"`,
          'notifications.newsletters',
        );
      }
      return names.join(',');
    },
    default: 'product-news,tips,events,status-updates',
  },
  {
    key: 'tokens.scopes',
    description:
      "the provider's token scopes, comma-separated (account:read, ip:write, notifications:write are always there)",
    policy: 'tokenScopes',
    policyValue: (v) =>
      String(v)
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    parse: (v) => {
      const names = v
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const bad = names.find((n) => !/^[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9-]{0,31}$/.test(n));
      if (names.length === 0 || bad !== undefined)
        throw new InvalidInput(`invalid scope "${bad ?? v}": use resource:action, e.g. domains:read`, 'tokens.scopes');
      return names.join(',');
    },
    default: 'domains:read,domains:write,dns:read,dns:write,billing:read',
  },
  {
    key: 'mail.smtp',
    description:
      'SMTP server URL: smtps://, or smtp:// with STARTTLS (required with a user or password unless on loopback; ?tls=off allows plain text, ?tls=required always asks for it); unset: the outbox folder',
    parse: smtpUrl,
    redact: redactPassword,
  },
  {
    key: 'mail.from',
    description: 'sender address of every message',
    parse: (v) => v.trim(),
    default: 'acctsec <no-reply@localhost>',
  },
];

export function settingSpec(key: string): SettingSpec {
  const spec = settings.find((s) => s.key === key);
  if (!spec) {
    throw new InvalidInput(`unknown config key "${key}"; known keys: ${settings.map((s) => s.key).join(', ')}`, 'key');
  }
  return spec;
}

/** "line 4, column 18: Expected property name..." from JSON.parse's message ("... at position 34"). */
export function where(text: string, message: string): string {
  // V8's message may quote a slice of the file ("Unexpected token 'x', ...\"token\": xacs_ses..."), which
  // can be the start of a session token: only the character is named, never the slice.
  const token = /^Unexpected token '(.)'/u.exec(message);
  const reason = /^Unexpected end of JSON input/.test(message)
    ? 'it ends early'
    : token
      ? `unexpected character ${JSON.stringify(token[1])}`
      : message.replace(/ (in|after) JSON at position \d+.*$/s, '').replace(/,? ?".*$/s, '');
  const m = /at position (\d+)/.exec(message);
  if (!m) return reason;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `line ${line}, column ${column}: ${reason}`;
}

const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Names an object key cannot safely carry (the schema check drops them): refused, not silently lost. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** A session saved in a config file that was moved aside: forgotten there, not ended on its server. */
export interface StrandedSession {
  sessionId: string;
  username?: string;
  location?: string;
}

/**
 * The sessions saved in a config file's text, read leniently: the file may not be valid JSON (that is
 * why it is being reset). Each object holding a "sessionId" is read on its own; no token is returned.
 */
export function savedSessions(text: string): StrandedSession[] {
  const out: StrandedSession[] = [];
  const field = (body: string, name: string) => {
    const m = new RegExp(`"${name}"\\s*:\\s*"((?:[^"\\\\]|\\\\.){1,300})"`).exec(body);
    if (!m) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return undefined;
    }
  };
  for (const m of text.matchAll(/\{[^{}]*"sessionId"[^{}]*\}/g)) {
    const sessionId = field(m[0], 'sessionId');
    if (!sessionId) continue;
    const username = field(m[0], 'username');
    const location = field(m[0], 'location');
    out.push({ sessionId, ...(username ? { username } : {}), ...(location ? { location } : {}) });
  }
  return out;
}

export class ProfileStore {
  readonly path: string;
  private data: ConfigShape | undefined;
  private conf: Conf<ConfigShape> | undefined;

  constructor(
    readonly profileName: string,
    private readonly warn: (line: string) => void = () => undefined,
  ) {
    if (!PROFILE_NAME.test(profileName) || RESERVED_NAMES.has(profileName)) {
      throw new InvalidInput(
        `invalid profile name "${profileName}": use letters, digits, ".", "_" and "-" (not __proto__, constructor or prototype)`,
        '--profile',
      );
    }
    this.path = configPath();
  }

  /** The file as it is now: read once, and again after each write. A file we cannot read is named. */
  private read(): ConfigShape {
    if (this.data) return this.data;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.data = { profiles: {} });
      throw new InvalidInput(`cannot read the config file ${this.path}: ${(err as Error).message}`, 'config');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new InvalidInput(
        `the config file ${this.path} is not valid JSON (${where(text, (err as Error).message)}): fix it, or move it aside with \`acctsec config reset --all\``,
        'config',
      );
    }
    const checked = v.safeParse(FileShape, parsed);
    if (!checked.success) {
      throw new InvalidInput(
        `the config file ${this.path} is not an acctsec config (${v.getDotPath(checked.issues[0]) ?? 'top level'}): fix it, or move it aside with \`acctsec config reset --all\``,
        'config',
      );
    }
    // The file holds session tokens: readable by others, it is reported (ssh refuses such key files;
    // the key file is refused, see service/encryption.ts; this one is only warned about, since the
    // commands that fix it, `logout` and `config reset`, must still run).
    const mode = statSync(this.path).mode & 0o777;
    if (mode & 0o077)
      this.warn(
        `the config file ${this.path} is readable by other users (mode 0${mode.toString(8)}) and holds session tokens: run chmod 600 ${this.path}`,
      );
    return (this.data = checked.output);
  }

  /** conf, for writes: loaded by the first one, with the folder kept private (the file holds session tokens). */
  private async writer(): Promise<Conf<ConfigShape>> {
    if (!this.conf) {
      const { default: ConfClass } = await import('conf');
      const dir = dirname(this.path);
      if (existsSync(dir)) chmodSync(dir, 0o700);
      else mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.conf = new ConfClass<ConfigShape>({
        projectName: 'acctsec',
        projectSuffix: '',
        configName: 'config',
        configFileMode: 0o600,
        accessPropertiesByDotNotation: false,
        defaults: { profiles: {} },
        cwd: dir,
      });
    }
    return this.conf;
  }

  /** Every profile in the file, for completion of --profile. */
  profileNames(): string[] {
    return Object.keys(this.read().profiles);
  }

  profile(): Profile {
    const p = this.read().profiles[this.profileName];
    return { settings: { ...(p?.settings ?? {}) }, ...(p?.session ? { session: p.session } : {}) };
  }

  /**
   * Writes this profile, or removes it (undefined), under the file's lock: the file is read again and
   * rewritten whole (atomically, by rename), so concurrent writers would otherwise lose each other's
   * profiles (issue #19: 20 parallel logins kept 13). The lock is `config.json.lock` (proper-lockfile:
   * a directory made atomically, taken over when stale after 10 s).
   */
  private async save(profile: Profile | undefined): Promise<void> {
    const conf = await this.writer();
    await this.locked(() => {
      const profiles = { ...conf.get('profiles') };
      if (profile) profiles[this.profileName] = profile;
      else delete profiles[this.profileName];
      conf.set('profiles', profiles);
    });
    this.data = undefined;
  }

  private async locked(fn: () => void): Promise<void> {
    const { lock } = await import('proper-lockfile');
    const lockPath = `${this.path}.lock`;
    // proper-lockfile's lock is a folder: anything else there is not a lock of ours, and no wait ends it.
    const there = lstatSync(lockPath, { throwIfNoEntry: false });
    if (there && !there.isDirectory())
      throw new Unavailable(
        `${lockPath} is in the way of the config file's lock (acctsec's lock is a folder, and this is not one): move it away and try again`,
        'config_locked',
      );
    let release: () => Promise<void>;
    try {
      release = await lock(this.path, {
        realpath: false,
        lockfilePath: lockPath,
        stale: 10_000,
        retries: { retries: 100, minTimeout: 10, maxTimeout: 100, randomize: true },
      });
    } catch (err) {
      throw new Unavailable(
        `the config file ${this.path} is locked by another acctsec (${(err as Error).message}); try again`,
        'config_locked',
      );
    }
    try {
      fn();
    } finally {
      await release();
    }
  }

  /** `config reset`: this profile's settings and saved session are forgotten. */
  async reset(): Promise<boolean> {
    const had = this.profileName in this.read().profiles;
    await this.save(undefined);
    return had;
  }

  /**
   * `config reset --all`: the whole file is moved aside (kept, mode 0600, for the user to look at),
   * whether or not it can be read: the way out of a damaged file. Returns where it went, and the
   * sessions saved in it (read leniently: they were forgotten here, not ended on their servers).
   * A symbolic link at the path is moved aside itself: its target is neither read for a mode change
   * nor changed (issue #19 review: a link to another file must not have that file chmodded).
   */
  async resetAll(): Promise<{ aside: string; sessions: StrandedSession[]; link?: string } | undefined> {
    const st = lstatSync(this.path, { throwIfNoEntry: false });
    if (!st) return undefined;
    const aside = `${this.path}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
    let sessions: StrandedSession[] = [];
    let link: string | undefined;
    await this.locked(() => {
      if (st.isSymbolicLink()) link = readlinkSync(this.path);
      else {
        try {
          sessions = savedSessions(readFileSync(this.path, 'utf8'));
        } catch {
          // An unreadable file still moves aside; its sessions are not known.
        }
        chmodSync(this.path, 0o600);
      }
      renameSync(this.path, aside);
    });
    this.data = undefined;
    return { aside, sessions, ...(link !== undefined ? { link } : {}) };
  }

  /** The policy fields set in this profile, by their service names. */
  policy(): Record<string, unknown> {
    const own = this.profile().settings;
    const out: Record<string, unknown> = {};
    for (const spec of settings) {
      const value = own[spec.key];
      if (spec.policy && value !== undefined) out[spec.policy] = spec.policyValue ? spec.policyValue(value) : value;
    }
    return out;
  }

  get(key: string): SettingValue | undefined {
    return this.profile().settings[settingSpec(key).key];
  }

  async set(key: string, raw: string): Promise<SettingValue> {
    const spec = settingSpec(key);
    const value = spec.parse(raw);
    const p = this.profile();
    p.settings[spec.key] = value;
    await this.save(p);
    return value;
  }

  async unset(key: string): Promise<boolean> {
    const spec = settingSpec(key);
    const p = this.profile();
    const had = spec.key in p.settings;
    delete p.settings[spec.key];
    await this.save(p);
    return had;
  }

  session(): SavedSession | undefined {
    return this.profile().session;
  }

  async saveSession(session: SavedSession): Promise<void> {
    await this.save({ ...this.profile(), session });
  }

  async clearSession(): Promise<void> {
    const { settings: s } = this.profile();
    await this.save({ settings: s });
  }
}
