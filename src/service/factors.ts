import type { SecondFactor } from './context.js';
import { emailFactor } from './email-mfa.js';
import { recoveryCodesFactor } from './recovery-codes.js';
import { keyFactor } from './security-keys.js';
import { totpFactor } from './totp.js';

/**
 * The second factors, in the order sign-in offers them: the one list, handed to every service in the
 * service context (`ctx.factors`). Adding a factor adds one line here and one entry in src/factor-kinds.ts,
 * beside its own modules and Backend operations (CONTRIBUTING.md, "Adding a second factor", counts the
 * files). Only the composition roots that build a context import this module, and no other module
 * imports a factor (the `factors-only-through-the-registry` rule of .dependency-cruiser.cjs).
 */
export const FACTORS: readonly SecondFactor[] = [totpFactor, emailFactor, keyFactor, recoveryCodesFactor];
