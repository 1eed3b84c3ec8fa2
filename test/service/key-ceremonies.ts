import {
  beginKeyRegistration,
  ceremonyOptions,
  finishKeyRegistration,
  submitCeremonyAnswer,
  type RelyingParty,
} from '../../src/service/security-keys.js';
import type { Auth } from '../../src/service/sessions.js';
import { SoftAuthenticator, type CreationOptions, type RequestOptions } from '../soft-authenticator.js';
import { PASSWORD, type testContext } from './context.js';

// The page's side of security key ceremonies, played by a software authenticator, for service tests.

export const RP: RelyingParty = { rpId: 'localhost', origin: 'http://localhost:7444' };
type Ctx = ReturnType<typeof testContext>;

export async function register(
  ctx: Ctx,
  auth: Auth,
  name: string,
  key = new SoftAuthenticator(),
  proof: Parameters<typeof beginKeyRegistration>[3] = { password: PASSWORD },
) {
  const c = await beginKeyRegistration(ctx, auth, name, proof, RP, {});
  const { publicKey } = ceremonyOptions(ctx, c.ceremonyId);
  submitCeremonyAnswer(ctx, c.ceremonyId, {
    response: key.register(publicKey as unknown as CreationOptions, RP.origin),
  });
  const added = await finishKeyRegistration(ctx, auth, c.ceremonyId, {});
  return { key, added };
}

/** Runs an assertion ceremony's page side with `key`; returns the ceremony id (the key method's "code"). */
export function answer(ctx: Ctx, ceremonyId: string, key: SoftAuthenticator, origin = RP.origin): string {
  const { publicKey } = ceremonyOptions(ctx, ceremonyId);
  submitCeremonyAnswer(ctx, ceremonyId, { response: key.assert(publicKey as unknown as RequestOptions, origin) });
  return ceremonyId;
}
