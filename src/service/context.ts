import type { Db } from '../store/db.js';
import type { PasswordHasher } from './password-hashing.js';
import type { Policy } from './policy.js';
import type { Keyring } from './encryption.js';
import type { Mailer } from '../mail/mailer.js';
import type { Background } from './background.js';

/** What every service function works with. Time is injected so tests never mock the global clock. */
export interface ServiceContext {
  db: Db;
  now: () => number;
  policy: Policy;
  hasher: PasswordHasher;
  keyring: Keyring;
  mailer: Mailer;
  /** Work done after the answer (mail that must not be timed from outside). */
  background: Background;
}

/** Where a request comes from: the session it carries and the client address when one is known. */
export interface RequestOrigin {
  ip?: string | undefined;
  client?: string | undefined;
}
