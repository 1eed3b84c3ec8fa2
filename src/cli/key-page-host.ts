import type { AddressInfo } from 'node:net';
import { openLocalStore, type LocalStoreOptions } from '../backend/local.js';
import { createApiServer } from '../server/server.js';
import type { RelyingParty } from '../service/security-keys.js';

// Local mode's page for security key ceremonies (SPEC §4.3): a loopback HTTP server started on the
// first ceremony of this run, serving the ceremony page and its two calls (options, answer) over the
// same database, and nothing else. The browser opens it as http://localhost:PORT, so the RP ID is
// `localhost` (WebAuthn allows no IP address there, and treats localhost as a secure context).

export interface KeyPageHost {
  relyingParty(): Promise<RelyingParty>;
  close(): Promise<void>;
}

export function keyPageHost(storeOptions: () => Promise<LocalStoreOptions>): KeyPageHost {
  let started: Promise<{ rp: RelyingParty; close: () => Promise<void> }> | undefined;
  async function start() {
    const store = openLocalStore(await storeOptions());
    const api = createApiServer({
      backendFor: (c) => store.backend({ ip: c.ip, client: c.client }),
      operations: ['keyCeremonyOptions', 'submitKeyCeremony'],
    });
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = api.server.address() as AddressInfo;
    return {
      rp: { rpId: 'localhost', origin: `http://localhost:${port}` },
      close: async () => {
        api.server.closeAllConnections();
        await api.shutdown();
        await store.close();
      },
    };
  }
  return {
    relyingParty: async () => (await (started ??= start())).rp,
    close: async () => {
      if (started) await (await started).close();
    },
  };
}
