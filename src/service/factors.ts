import type { SecondFactor } from './context.js';
import { emailFactor } from './email-mfa.js';
import { recoveryCodesFactor } from './recovery-codes.js';
import { keyFactor } from './security-keys.js';
import { totpFactor } from './totp.js';

/**
 * The second factors, in the order sign-in offers them: the one list, handed to every service in the
 * service context (`ctx.factors`). A new factor is one line here and one entry in src/factor-kinds.ts
 * (CONTRIBUTING.md, "Adding a second factor"). Only the composition roots that build a context import
 * this module, so no service depends on the factors it does not use.
 */
export const FACTORS: readonly SecondFactor[] = [totpFactor, emailFactor, keyFactor, recoveryCodesFactor];
