import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Chalk } from 'chalk';
import { onTestFinished, vi } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { createLocalBackend, type LocalStoreOptions } from '../../../src/backend/local.js';
import type { Factory, GlobalOptions } from '../../../src/cli/factory.js';
import type { IO } from '../../../src/cli/io.js';
import { createPrompter, type Prompter } from '../../../src/cli/prompts.js';
import { ProfileStore } from '../../../src/config/profiles.js';
import { AuthFailed } from '../../../src/errors.js';
import type { Delivery } from '../../../src/mail/mailer.js';
import { argon2Hasher } from '../../../src/service/password-hashing.js';
import type { Policy } from '../../../src/service/policy.js';
import type { SessionGrant } from '../../../src/views.js';
import { codeAt } from '../../rfc6238.js';

// A Factory for in-process command tests (issue #16): the IO records every line, the prompter answers
// from a script, and the back end is the real local one over a SQLite file in a temp dir.

// `localTime` prints local time: the tests pin the zone so their expected lines hold everywhere. Each
// test file runs in its own process (vitest forks), so this does not leak into other files.
process.env.TZ = 'UTC';

export const PASSWORD = 'correct horse battery staple';
export const NEW_PASSWORD = 'a brand new passphrase, well kept';
/** 2026-11-23T10:00:00Z, a Monday: every test starts here unless it says otherwise. */
export const START = Date.parse('2026-11-23T10:00:00Z');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------- IO

/** What a run printed, in order, as the terminal would show it. */
export type Printed =
  | { to: 'out'; text: string }
  | { to: 'json'; value: unknown }
  | { to: 'note'; text: string }
  | { to: 'warn'; text: string };

export interface RecordingIO extends IO {
  /** stdout lines (a multi-line `out` call, a table, is split into its lines). */
  readonly lines: string[];
  /** Every document passed to json(), parsed back from the text the real IO would write. */
  readonly json: ((value: unknown) => void) & { values: unknown[] };
  /** stderr notices (not recorded under --quiet, as the real IO drops them). */
  readonly notes: string[];
  /** stderr warnings, without the "warning: " prefix the real IO adds. */
  readonly warnings: string[];
  readonly printed: Printed[];
  /** The one JSON document of a --json run; fails unless exactly one was printed and no stdout line. */
  document<T = unknown>(): T;
}

export function recordingIO(options: { quiet?: boolean; stdoutIsTTY?: boolean } = {}): RecordingIO {
  const lines: string[] = [];
  const notes: string[] = [];
  const warnings: string[] = [];
  const printed: Printed[] = [];
  const values: unknown[] = [];
  const out = (text: string) => {
    printed.push({ to: 'out', text });
    lines.push(...text.split('\n'));
  };
  const json = Object.assign(
    (value: unknown) => {
      // Through the text, as a reader of stdout gets it: a Date or undefined does not survive.
      const parsed: unknown = JSON.parse(JSON.stringify(value, null, 2));
      printed.push({ to: 'json', value: parsed });
      values.push(parsed);
    },
    { values },
  );
  return {
    color: new Chalk({ level: 0 }),
    stdoutIsTTY: options.stdoutIsTTY ?? false,
    out,
    stream: async (text) => out(text),
    json,
    note: (text) => {
      if (options.quiet) return;
      printed.push({ to: 'note', text });
      notes.push(text);
    },
    warn: (text) => {
      printed.push({ to: 'warn', text });
      warnings.push(text);
    },
    stderrIsTTY: false,
    progress: () => undefined,
    lines,
    notes,
    warnings,
    printed,
    document<T>() {
      if (values.length !== 1 || lines.length !== 0) {
        throw new Error(
          `expected one JSON document and no stdout lines, got ${values.length} documents and lines ${JSON.stringify(lines)}`,
        );
      }
      return values[0] as T;
    },
  };
}

// ---------------------------------------------------------------------------------------- Prompter

export type PromptKind = 'password' | 'text' | 'confirm' | 'select';

/** One expected prompt and its answer; a function answer is computed when the prompt comes. */
export type Step =
  | { kind: 'password'; message: string; answer: string | (() => string) }
  | { kind: 'text'; message: string; answer: string | (() => string) }
  | { kind: 'confirm'; message: string; answer: boolean }
  | { kind: 'select'; message: string; answer: string };

export const ask = {
  password: (message: string, answer: string | (() => string)): Step => ({ kind: 'password', message, answer }),
  text: (message: string, answer: string | (() => string)): Step => ({ kind: 'text', message, answer }),
  confirm: (message: string, answer: boolean): Step => ({ kind: 'confirm', message, answer }),
  select: (message: string, answer: string): Step => ({ kind: 'select', message, answer }),
};

/** A prompt as the command asked it: what the user would have seen, and what they were told to use instead. */
export interface AskedPrompt {
  kind: PromptKind;
  message: string;
  supply: string;
  default?: string | boolean | undefined;
  choices?: { value: string; name: string }[];
}

export interface ScriptedPrompter extends Prompter {
  /** Every prompt the command asked (interactive) or tried to ask (not interactive: it got MissingInput). */
  readonly asked: AskedPrompt[];
  /** Adds answers for prompts still to come. */
  script(...steps: Step[]): void;
  /** Throws unless every scripted prompt was asked and nothing unexpected was. */
  verify(): void;
}

export class ScriptError extends Error {
  override name = 'ScriptError';
}

/**
 * A prompter that answers from a script. An unexpected prompt (kind or message) throws a ScriptError
 * and is remembered, so verify() fails the test even if the command swallowed the error. Not
 * interactive, it throws what the real prompter throws: it delegates to createPrompter(false).
 */
export function scriptedPrompter(interactive: boolean, steps: Step[] = []): ScriptedPrompter {
  const queue = [...steps];
  const asked: AskedPrompt[] = [];
  const problems: string[] = [];
  const real = createPrompter(false);

  function take(prompt: AskedPrompt): Step {
    asked.push(prompt);
    const next = queue.shift();
    if (!next) {
      const problem = `unexpected ${prompt.kind} prompt "${prompt.message}": the script is used up`;
      problems.push(problem);
      throw new ScriptError(problem);
    }
    if (next.kind !== prompt.kind || next.message !== prompt.message) {
      const problem = `expected ${next.kind} prompt "${next.message}", got ${prompt.kind} prompt "${prompt.message}"`;
      problems.push(problem);
      throw new ScriptError(problem);
    }
    return next;
  }
  const answer = (step: Step): string => {
    const a = step.answer;
    return typeof a === 'function' ? a() : String(a);
  };

  return {
    interactive,
    asked,
    script: (...more) => void queue.push(...more),
    verify() {
      const left = queue.map((s) => `${s.kind} "${s.message}"`);
      if (problems.length || left.length) {
        throw new ScriptError(
          [...problems, ...(left.length ? [`scripted prompts never asked: ${left.join(', ')}`] : [])].join('; '),
        );
      }
    },
    async password(message, supply) {
      if (!interactive) {
        asked.push({ kind: 'password', message, supply });
        return real.password(message, supply);
      }
      return answer(take({ kind: 'password', message, supply }));
    },
    async text(message, supply, options = {}) {
      if (!interactive) {
        asked.push({ kind: 'text', message, supply, default: options.default });
        return real.text(message, supply, options);
      }
      const value = answer(take({ kind: 'text', message, supply, default: options.default }));
      // The real prompt re-asks until `validate` accepts; a script that feeds a refused value is wrong.
      const verdict = options.validate?.(value) ?? true;
      if (verdict !== true) {
        problems.push(`the scripted answer "${value}" to "${message}" is refused by its validate: ${verdict}`);
        throw new ScriptError(problems[problems.length - 1]);
      }
      return value;
    },
    async confirm(message, supply, defaultAnswer = false) {
      if (!interactive) {
        asked.push({ kind: 'confirm', message, supply, default: defaultAnswer });
        return real.confirm(message, supply, defaultAnswer);
      }
      const step = take({ kind: 'confirm', message, supply, default: defaultAnswer });
      return step.answer as boolean;
    },
    async select<T extends string>(message: string, supply: string, choices: { value: T; name: string }[]): Promise<T> {
      if (!interactive) {
        asked.push({ kind: 'select', message, supply, choices });
        return real.select(message, supply, choices);
      }
      const value = answer(take({ kind: 'select', message, supply, choices }));
      const choice = choices.find((c) => c.value === value);
      if (!choice) {
        problems.push(
          `the scripted answer "${value}" to "${message}" is not among the choices ${choices.map((c) => c.value).join(', ')}`,
        );
        throw new ScriptError(problems[problems.length - 1]);
      }
      return choice.value;
    },
  };
}

// ------------------------------------------------------------------------------------------- Clock

/**
 * One clock for the back end (`now`) and for the CLI's "3 hours ago" (Date.now): only Date is faked,
 * timers run for real (the background mail and argon2 need them).
 */
export const clock = {
  now: () => Date.now(),
  set(ms: number) {
    vi.setSystemTime(ms);
  },
  advance(ms: number) {
    vi.setSystemTime(Date.now() + ms);
  },
};

// ----------------------------------------------------------------------------------------- Factory

export interface FakeFactoryOptions {
  json?: boolean;
  yes?: boolean;
  quiet?: boolean;
  /** Whether the prompter may prompt (default true). Not interactive, it throws MissingInput. */
  interactive?: boolean;
  script?: Step[];
  profile?: string;
  /** Policy fields over the defaults and the profile's `policy.*` settings. */
  policy?: Partial<Policy>;
  /** Another factory's temp dir: same database, config file and outbox (a second run, another profile). */
  shareWith?: FakeFactory;
}

export interface FakeFactory extends Factory {
  readonly io: RecordingIO;
  readonly prompter: ScriptedPrompter;
  readonly globals: GlobalOptions;
  readonly dir: string;
  readonly dbPath: string;
  readonly configDir: string;
  readonly outboxDir: string;
  /** Every message the mailer delivered (to the outbox). */
  readonly deliveries: Delivery[];
  /** What the back ends logged as failed work after an answer (mail). */
  readonly backgroundLog: string[];
  /** The text of every .eml file in the outbox, oldest first (file names start with the time). */
  outbox(): string[];
}

/**
 * Tests choose the hashing cost explicitly: argon2id at 1 MiB and one pass instead of SPEC §3's
 * 19 MiB and two, so each hash takes about a millisecond. The unit tests are about the commands, not
 * the hash; test/service/password-hashing.test.ts covers the real parameters.
 */
const cheapHasher = argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

/** The session of the profile's client, as `acctsec/VERSION on HOST (profile P)` would name it. */
const CLIENT = 'acctsec/test on unit (profile default)';

/**
 * A Factory over a temp dir, cleaned up (back ends closed, files removed, the clock and prompter
 * checked) when the test finishes. Date is faked from the first factory of a test, at START.
 */
export function createFakeFactory(options: FakeFactoryOptions = {}): FakeFactory {
  if (!vi.isFakeTimers()) {
    vi.useFakeTimers({ toFake: ['Date'], now: START });
  }
  const shared = options.shareWith;
  const dir = shared?.dir ?? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'acctsec-unit-'));
  const dbPath = join(dir, 'acctsec.db');
  const configDir = join(dir, 'config');
  const outboxDir = join(dir, 'outbox');
  mkdirSync(configDir, { recursive: true });

  const globals: GlobalOptions = {
    json: options.json ?? false,
    input: options.interactive ?? true,
    yes: options.yes ?? false,
    color: false,
    quiet: options.quiet ?? false,
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const io = recordingIO({ quiet: globals.quiet });
  const prompter = scriptedPrompter(options.interactive ?? true, options.script ?? []);
  const deliveries: Delivery[] = shared?.deliveries ?? [];
  const backgroundLog: string[] = shared?.backgroundLog ?? [];
  const opened: Backend[] = [];
  let profiles: ProfileStore | undefined;

  function loadProfiles(): ProfileStore {
    if (!profiles) {
      // ProfileStore reads ACCTSEC_CONFIG_DIR when it is made, and only then.
      const before = process.env.ACCTSEC_CONFIG_DIR;
      process.env.ACCTSEC_CONFIG_DIR = configDir;
      try {
        profiles = new ProfileStore(options.profile ?? 'default');
      } finally {
        if (before === undefined) delete process.env.ACCTSEC_CONFIG_DIR;
        else process.env.ACCTSEC_CONFIG_DIR = before;
      }
    }
    return profiles;
  }

  function storeOptions(): LocalStoreOptions {
    return {
      dbPath,
      keyPath: `${dbPath}.key`,
      policy: { ...loadProfiles().policy(), ...options.policy },
      hasher: cheapHasher,
      now: () => Date.now(),
      mail: { from: 'acctsec <no-reply@localhost>', outboxDir, onDelivery: (d) => void deliveries.push(d) },
      log: (line) => void backgroundLog.push(line),
    };
  }

  async function backendWith(sessionToken: string | undefined): Promise<Backend> {
    const backend = createLocalBackend({ ...storeOptions(), sessionToken, client: CLIENT });
    opened.push(backend);
    return backend;
  }

  const f: FakeFactory = {
    globals,
    io,
    prompter,
    dir,
    dbPath,
    configDir,
    outboxDir,
    deliveries,
    backgroundLog,
    profiles: async () => loadProfiles(),
    backendWith,
    isRemote: async () => false,
    storeOptions: async () => storeOptions(),
    explainSignIn: async (message) => message,
    rememberServer: async () => undefined,
    async backend() {
      const saved = loadProfiles().session();
      // As the real factory: a token is only ever sent back to where it was issued.
      if (saved && saved.location !== dbPath) {
        throw new AuthFailed(
          `this profile is signed in to ${saved.location}, not ${dbPath}; run \`acctsec login\``,
          'not_signed_in',
        );
      }
      return backendWith(saved?.token);
    },
    async close() {
      // Waits for the mail sent after the answers, as the CLI does before it exits.
      await Promise.all(opened.splice(0).map((b) => b.close()));
    },
    outbox() {
      let names: string[];
      try {
        names = readdirSync(outboxDir).sort();
      } catch {
        return [];
      }
      return names.map((n) => readFileSync(join(outboxDir, n), 'utf8'));
    },
  };

  onTestFinished(async () => {
    await f.close();
    if (!shared) rmSync(dir, { recursive: true, force: true });
    if (vi.isFakeTimers()) vi.useRealTimers();
    prompter.verify();
  });
  return f;
}

// ---------------------------------------------------------------------------------------- Accounts

/**
 * `acctsec init` for alice, as the command leaves things: the account (admin) in the database and
 * its session saved in the profile. Done through the back end, so the factory's IO and script stay
 * untouched for the command under test.
 */
export async function initAlice(f: FakeFactory, username = 'alice'): Promise<SessionGrant> {
  const backend = await f.backendWith(undefined);
  const result = await backend.init({ username, email: `${username}@example.com`, password: PASSWORD });
  await (
    await f.profiles()
  ).saveSession({
    token: result.session.token,
    sessionId: result.session.sessionId,
    username: result.account.username,
    location: backend.location,
  });
  return result.session;
}

/**
 * Another sign-in of the account (another device): a second session, not saved in the profile. With
 * `totpSecret`, a second factor is answered with the app's current code (and the clock moves 30 s).
 */
export async function signInElsewhere(
  f: FakeFactory,
  options: { username?: string; password?: string; totpSecret?: string } = {},
): Promise<SessionGrant> {
  const { username = 'alice', password = PASSWORD, totpSecret } = options;
  const backend = await f.backendWith(undefined);
  let result = await backend.signIn({ username, password });
  if (result.status !== 'signed-in' && totpSecret) {
    result = await backend.signIn({ username, password, secondFactor: { method: 'totp', code: totpNow(totpSecret) } });
    clock.advance(30_000);
  }
  if (result.status !== 'signed-in')
    throw new Error(`sign-in of ${username} asked for ${JSON.stringify(result.methods)}`);
  return result.session;
}

/** Signs the profile in again (the old session stays open): a fresh session after the clock moved on. */
export async function signInProfile(
  f: FakeFactory,
  options: { username?: string; password?: string; totpSecret?: string } = {},
): Promise<SessionGrant> {
  const session = await signInElsewhere(f, options);
  await (
    await f.profiles()
  ).saveSession({
    token: session.token,
    sessionId: session.sessionId,
    username: session.username,
    location: f.dbPath,
  });
  return session;
}

/**
 * The authenticator code for now (or `offset` steps away), from the base32 secret, by test/rfc6238.ts
 * (no code shared with the product). A step is accepted once per account: move the clock 30 s
 * (clock.advance(30_000)) between two codes.
 */
export function totpNow(secret: string, offset = 0): string {
  return codeAt(secret, offset, Date.now());
}

/** Turns the authenticator app on through the back end; returns its secret and the recovery codes. */
export async function enableTotp(f: FakeFactory): Promise<{ secret: string; recoveryCodes: string[] }> {
  const backend = await f.backend();
  const { secret } = await backend.beginTotp({ password: PASSWORD });
  const { recoveryCodes } = await backend.confirmTotp(totpNow(secret));
  // The confirmation used this step's code: the next one a test computes must be of a later step.
  clock.advance(30_000);
  return { secret, recoveryCodes };
}

/**
 * Makes process.stdin a stream of `text` until the test ends. src/cli/secrets.ts reads stdin once per
 * process and keeps the lines in a module variable, so the modules are reset too: the test must import
 * the command (and the error classes it checks with instanceof) afresh, with `await import(...)`.
 */
export function stubStdin(text: string): void {
  const original = Object.getOwnPropertyDescriptor(process, 'stdin');
  const stream = Readable.from([Buffer.from(text, 'utf8')]);
  Object.defineProperty(process, 'stdin', { configurable: true, enumerable: true, get: () => stream });
  vi.resetModules();
  onTestFinished(() => {
    if (original) Object.defineProperty(process, 'stdin', original);
  });
}

/** The message of a rejected promise's error and its class, for strict `toThrow` assertions. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, and the promise resolved');
}
