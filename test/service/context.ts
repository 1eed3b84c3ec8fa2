import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createMailer, DEFAULT_FROM, type Mailer } from '../../src/mail/mailer.js';
import { initialize } from '../../src/service/accounts.js';
import { createBackground } from '../../src/service/background.js';
import type { ServiceContext } from '../../src/service/context.js';
import { argon2Hasher, type PasswordHasher } from '../../src/service/password-hashing.js';
import { FACTORS } from '../../src/service/factors.js';
import { defaultPolicy } from '../../src/service/policy.js';
import { authenticate, type Auth } from '../../src/service/sessions.js';
import { openStore } from '../../src/store/db.js';
import { inject } from 'vitest';

export const PASSWORD = 'correct horse battery staple';

/**
 * argon2id at 1 MiB and one pass: what service tests hash with unless they say otherwise, about 40 times
 * cheaper than production's 19 MiB, t = 2. The tests that check the production parameters (the stored
 * PHC string, the upgrade at sign-in, the timing of unknown names) pass `argon2Hasher()` explicitly.
 */
export const TEST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** Where the default test mailer writes: in test/global-setup.ts's folder, removed when the run ends. */
const OUTBOX = join(inject('runTempRoot'), `outbox-${process.pid}`);

/** A service context over an in-memory database, with a clock the test moves by hand. */
export function testContext(
  options: { hasher?: PasswordHasher; mailer?: Mailer } = {},
): ServiceContext & { clock: { t: number; advance(ms: number): void }; backgroundFailures: string[] } {
  const clock = {
    t: Date.parse('2026-11-23T10:00:00Z'),
    advance(ms: number) {
      this.t += ms;
    },
  };
  const key = randomBytes(32);
  /** What background tasks (mail after the answer) logged as failed. */
  const backgroundFailures: string[] = [];
  return {
    db: openStore(':memory:', { create: true }),
    now: () => clock.t,
    policy: { ...defaultPolicy },
    hasher: options.hasher ?? argon2Hasher(TEST_ARGON2),
    keyring: { key: () => key },
    mailer: options.mailer ?? createMailer({ from: DEFAULT_FROM, outboxDir: OUTBOX }),
    background: createBackground((line) => backgroundFailures.push(line)),
    factors: FACTORS,
    backgroundFailures,
    clock,
  };
}

export async function withAlice(ctx: ServiceContext): Promise<{ auth: Auth; token: string }> {
  const { session } = await initialize(ctx, { username: 'alice', email: 'alice@example.com', password: PASSWORD }, {});
  return { auth: authenticate(ctx, session.token), token: session.token };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
