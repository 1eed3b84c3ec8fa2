import * as v from 'valibot';

// The shapes of what clients send, as schemas (issue #14): `acctsec serve` checks every request body
// against them before the Backend sees it (backend/routes.ts), and the TypeScript input types of
// views.ts are derived from them, so the checked shape and the typed one cannot drift. Objects are
// strict (an unknown field is refused, not ignored); strings are bounded and well-formed UTF-16, so a
// lone surrogate never reaches SQLite or a mail header. The service layer still judges the values
// (a username's characters, a password's policy): these schemas judge only shape and size.

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** A string of at most `max` UTF-16 units, without lone surrogates. */
export function text(max: number) {
  return v.pipe(
    v.string(),
    v.maxLength(max, `must be at most ${max} characters`),
    // With the u flag a surrogate matches only when it is not half of a pair.
    v.check((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode text'),
  );
}

// valibot's object schemas take any typeof 'object', arrays included: `{"proof": []}` would pass as
// an empty proof. A JSON object is what each of these means, so arrays are refused first.
const NOT_ARRAY = v.custom<Record<string, unknown>>(
  (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  'must be an object',
);

/** A JSON object with exactly these fields: an unknown one is refused. */
export function object<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(NOT_ARRAY, v.strictObject(entries));
}

/** A JSON object with at least these fields (members a browser may add are kept). */
function openObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(NOT_ARRAY, v.looseObject(entries));
}

/** Usernames, addresses, names, codes, ids: short. */
export const Short = text(320);
/** Passwords and secrets: longer than any policy allows, so the policy gives the message. */
export const Secret = text(4096);
export const Flag = v.boolean();

export const SecondFactorAnswer = object({ method: Short, code: Short });

/** What confirms identity for a sensitive change outside the 10-minute window (SPEC §2). */
export const IdentityProof = object({
  password: v.optional(Secret),
  secondFactor: v.optional(SecondFactorAnswer),
});
export const OptionalProof = v.optional(IdentityProof);

/** Issue #21: an OAuth application to register. */
export const AppCreateInput = object({
  name: Short,
  redirectUris: v.pipe(v.array(text(2048)), v.maxLength(32, 'must have at most 32 entries')),
  public: v.optional(Flag),
});

export const InitInput = object({
  username: Short,
  email: Short,
  password: Secret,
  client: v.optional(Short),
});

export const SignInInput = object({
  username: Short,
  password: Secret,
  secondFactor: v.optional(SecondFactorAnswer),
  client: v.optional(Short),
});

export const SignInCodeRequest = object({ username: Short, password: Secret, method: Short });
export const KeySignInRequest = object({ username: Short, password: Secret });
export const PasswordChange = object({ current: Secret, next: Secret });

export const RecoverInput = object({ username: Short, code: Short, newPassword: Secret, method: v.optional(Short) });
export const TokenRecoverInput = object({ username: Short, token: Secret, newPassword: Secret });

/**
 * One line of input: the text and where it came from ("line 3 of allow.txt"), for error messages;
 * `allowPrivate` as --allow-private for this entry alone (a line marked `# allow-private`).
 */
export const IpEntryInput = object({ text: text(200), where: v.optional(text(4096)), allowPrivate: v.optional(Flag) });
export const IpEntries = v.pipe(v.array(IpEntryInput), v.maxLength(4096, 'must have at most 4096 entries'));

export const IpChangeOptions = object({
  /** Accept private, loopback, link-local... ranges too. */
  allowPrivate: Flag,
  /** Make a change even when it locks out the current address. */
  force: Flag,
  /** The client's address where the back end cannot see it (local mode: --current-ip). */
  currentIp: v.optional(text(200)),
});

export const Names = v.pipe(v.array(Short), v.maxLength(256, 'must have at most 256 items'));

export const TokenRequest = object({
  name: Short,
  scopes: Names,
  resources: Names,
  /** 30d, 90d or YYYY-MM-DD; default 30 days. */
  expires: v.optional(Short),
});

const ADMIN_ACTION = { reason: text(2000), dryRun: v.optional(Flag) };
export const AdminActionInput = object(ADMIN_ACTION);
export const AdminCreateUserInput = object({
  ...ADMIN_ACTION,
  username: Short,
  email: Short,
  role: v.optional(Short),
  printToken: v.optional(Flag),
});
export const AdminResetInput = object({ ...ADMIN_ACTION, printToken: v.optional(Flag) });

// Issue #20 §5: who a mailing goes to, by newsletter or organization.
export const RecipientQuery = object({ newsletter: v.optional(Short), org: v.optional(Short) });

/** Line numbers and counts of an import: a billion lines is beyond any directory. */
const Count = v.pipe(
  v.number(),
  v.integer('must be an integer'),
  v.minValue(0, 'must be at least 0'),
  v.maxValue(1_000_000_000, 'must be at most 1000000000'),
);
/** Rows per import batch: one transaction, and (remote) one request under the server's body limit. */
export const IMPORT_BATCH_ROWS = 1000;
/**
 * A batch whose reset tokens are mailed is mailed within its own request (so its answer can name the
 * mails that failed), at IMPORT_MAIL_PER_SECOND (service/bulk-import.ts): at most this many rows, two
 * seconds of mail at the full pace, keeps each request far inside a client's timeout.
 */
export const IMPORT_MAIL_BATCH_ROWS = 100;
/** One row of an import file, with the line it came from (for messages and resuming). */
export const ImportRow = object({
  line: v.pipe(
    v.number(),
    v.integer('must be an integer'),
    v.minValue(1, 'must be at least 1'),
    v.maxValue(1_000_000_000, 'must be at most 1000000000'),
  ),
  username: Short,
  email: Short,
  role: v.optional(Short),
});
/** One batch of `admin users import` (issue #19 §4): created all or none, in one transaction. */
export const AdminImportBatch = object({
  ...ADMIN_ACTION,
  /**
   * The run this batch belongs to, as the answer to its first batch gave it (issued by the back end);
   * left out by a run's first batch, and by dry runs.
   */
  importId: v.optional(text(64)),
  rows: v.pipe(v.array(ImportRow), v.maxLength(IMPORT_BATCH_ROWS, `must have at most ${IMPORT_BATCH_ROWS} rows`)),
  /** Create the valid rows and report the others, instead of refusing the batch. */
  skipInvalid: v.optional(Flag),
  /** --tokens-to: the reset tokens come back in the answer instead of being mailed. */
  returnTokens: v.optional(Flag),
  /** On the run's last batch: write the one summary row of the import to the audit log. */
  finish: v.optional(
    object({ file: Short, fromLine: Count, lines: Count, existing: Count, invalid: Count, batches: Count }),
  ),
});

export const AuditFilter = object({
  user: v.optional(Short),
  actor: v.optional(Short),
  since: v.optional(Short),
  limit: v.optional(
    v.pipe(
      v.number(),
      v.integer('must be an integer'),
      v.minValue(1, 'must be at least 1'),
      v.maxValue(10_000, 'must be at most 10000'),
    ),
  ),
});

export const ActivityLimit = v.pipe(
  v.number(),
  v.integer('must be an integer'),
  v.minValue(1, 'must be at least 1'),
  v.maxValue(1000, 'must be at most 1000'),
);

const Base64Url = text(16_384);
/**
 * What the browser's WebAuthn page posts (RegistrationResponseJSON or AuthenticationResponseJSON, as
 * @simplewebauthn/browser and the W3C toJSON() give them). Loose inside `response` and the extension
 * results: browsers add members there over time, and the WebAuthn verifier ignores what it does not read.
 */
export const KeyCeremonyAnswer = object({
  response: v.optional(
    object({
      id: Base64Url,
      rawId: Base64Url,
      type: v.literal('public-key'),
      response: openObject({ clientDataJSON: Base64Url }),
      clientExtensionResults: v.optional(openObject({})),
      authenticatorAttachment: v.optional(v.nullable(Short)),
    }),
  ),
  error: v.optional(text(2000)),
});

export type SecondFactorAnswer = v.InferOutput<typeof SecondFactorAnswer>;
export type IdentityProof = v.InferOutput<typeof IdentityProof>;
export type InitInput = v.InferOutput<typeof InitInput>;
export type SignInInput = v.InferOutput<typeof SignInInput>;
export type IpEntryInput = v.InferOutput<typeof IpEntryInput>;
export type IpChangeOptions = v.InferOutput<typeof IpChangeOptions>;
export type TokenRequest = v.InferOutput<typeof TokenRequest>;
export type AdminActionInput = v.InferOutput<typeof AdminActionInput>;
export type AppCreateInput = v.InferOutput<typeof AppCreateInput>;
export type AdminCreateUserInput = v.InferOutput<typeof AdminCreateUserInput>;
export type AdminResetInput = v.InferOutput<typeof AdminResetInput>;
export type ImportRow = v.InferOutput<typeof ImportRow>;
export type AdminImportBatch = v.InferOutput<typeof AdminImportBatch>;
export type AuditFilter = v.InferOutput<typeof AuditFilter>;
export type RecoverInput = v.InferOutput<typeof RecoverInput>;
export type TokenRecoverInput = v.InferOutput<typeof TokenRecoverInput>;
export type KeyCeremonyAnswer = v.InferOutput<typeof KeyCeremonyAnswer>;
export type SignInCodeRequest = v.InferOutput<typeof SignInCodeRequest>;
export type KeySignInRequest = v.InferOutput<typeof KeySignInRequest>;
export type PasswordChange = v.InferOutput<typeof PasswordChange>;
export type RecipientQuery = v.InferOutput<typeof RecipientQuery>; // issue #20 §5

/** How long a key ceremony's waiter may hold a request (the service caps it at 20 s). */
export const WaitMs = v.pipe(
  v.number(),
  v.integer('must be an integer'),
  v.minValue(0, 'must be at least 0'),
  v.maxValue(60_000, 'must be at most 60000'),
);
