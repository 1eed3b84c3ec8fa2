import { InvalidInput } from '../errors.js';
import { normalizePassword } from './password-hashing.js';
import { PASSWORD_MAX_LENGTH } from './policy.js';

export interface PasswordRuleInput {
  password: string;
  username: string;
  minLength: number;
  /** The current password, when there is one: the new one must differ. */
  current?: string;
}

let commonPasswords: Set<string> | undefined;

/**
 * The blocklist (SPEC §3): the ~49,000 most common leaked passwords shipped with @zxcvbn-ts/language-common,
 * compared case-insensitively. Loaded on first use; only commands that set a password pay for it.
 */
async function loadCommonPasswords(): Promise<Set<string>> {
  if (!commonPasswords) {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    const words = dictionary['passwords-common'];
    commonPasswords = new Set(words.map((w) => String(w).toLowerCase()));
  }
  return commonPasswords;
}

export async function isCommonPassword(password: string): Promise<boolean> {
  return (await loadCommonPasswords()).has(normalizePassword(password).toLowerCase());
}

/**
 * The rules a new password must meet: length in code points after NFC (NIST SP 800-63B rev 4), at most
 * 256 and never truncated, not common, not containing the username, not the current one. Composition
 * rules ("a digit and a symbol") are deliberately not enforced: NIST says they do not help.
 */
export async function checkNewPassword(input: PasswordRuleInput): Promise<void> {
  const pw = normalizePassword(input.password);
  const length = [...pw].length;
  if (length < input.minLength) {
    throw new InvalidInput(
      `the new password has ${length} characters; it needs at least ${input.minLength}`,
      'password',
    );
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new InvalidInput(
      `the new password has ${length} characters; at most ${PASSWORD_MAX_LENGTH} are accepted`,
      'password',
    );
  }
  if (input.current !== undefined && pw === normalizePassword(input.current)) {
    throw new InvalidInput('the new password is the current password; choose a different one', 'password');
  }
  if (input.username && pw.toLowerCase().includes(input.username.toLowerCase())) {
    throw new InvalidInput('the new password contains the username; choose one that does not', 'password');
  }
  if (await isCommonPassword(pw)) {
    throw new InvalidInput('the new password is in the list of common leaked passwords; choose another', 'password');
  }
}

export interface StrengthEstimate {
  /** zxcvbn's 0 (too guessable) to 4 (very unguessable). */
  score: 0 | 1 | 2 | 3 | 4;
  warning: string | null;
  suggestions: string[];
}

/** Advice only (the seed recommends mixing letters, digits and symbols; we estimate instead of enforcing). */
export async function estimateStrength(password: string, userInputs: string[]): Promise<StrengthEstimate> {
  const [{ ZxcvbnFactory }, common, en] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ]);
  const zxcvbn = new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...en.dictionary },
    graphs: common.adjacencyGraphs,
    translations: en.translations,
  });
  const result = zxcvbn.check(normalizePassword(password), userInputs);
  return { score: result.score, warning: result.feedback.warning, suggestions: result.feedback.suggestions };
}
