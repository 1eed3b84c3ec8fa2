import type { OAuthPayload } from '../oauth-types.js';
import type { OAuthPayloadRow } from '../store/oauth-payloads.js';
import type { ServiceContext } from './context.js';
import { databaseKey, open } from './encryption.js';

// Unsealing what the OAuth provider stored (issue #21), apart from the provider's adapter
// (oauth-storage.ts): introspection of an application's token runs it on every data command's path
// (`token verify`, the server's /v1/tokens/introspect), which should not load the adapter and its
// key generation, sign-in notices and device sessions.

/** A stored payload, unsealed (bound to its model and hashed id, as it was sealed). */
export function openOAuthPayload(
  ctx: ServiceContext,
  row: Pick<OAuthPayloadRow, 'model' | 'id_hash' | 'payload'>,
  key = databaseKey(ctx.db, ctx.keyring),
) {
  return JSON.parse(
    open(key, row.payload, `oauth:${row.model}:${row.id_hash.toString('hex')}`).toString('utf8'),
  ) as OAuthPayload;
}
