import { expect } from 'vitest';
import { contract, initAlice, outcome, type Case } from './harness.js';

// Values of the right type but outside what the API takes. `acctsec serve` checks every request against
// its schema (src/schemas.ts, issue #14) before the Backend sees it; the local back end hands the
// values straight to the service. Where the two answer differently the case is skipped below, with
// the difference: the CLI's own parsers keep most of these from ever reaching a back end, but the
// Backend contract itself differs.

const cases: Record<string, Case> = {
  'an unknown ceremony id is NotFound for the page': async (world, rec) => {
    await initAlice(world);
    const r = rec(await outcome(() => world.anonymous().awaitKeyCeremony('no-such-ceremony', 0)));
    expect(r).toMatchObject({ error: { class: 'NotFound', exitCode: 4 } });
    rec(await outcome(() => world.anonymous().keyCeremonyOptions('no-such-ceremony')));
  },

  'activity with a fractional limit is refused as input': async (world, rec) => {
    const { me } = await initAlice(world);
    const r = rec(await outcome(() => me.activity(1.5)));
    expect(r).toMatchObject({ error: { class: 'InvalidInput', exitCode: 2 } });
  },

  'the audit log with limit 0 is refused as input': async (world, rec) => {
    const { me } = await initAlice(world);
    const r = rec(await outcome(() => me.adminAudit({ limit: 0 })));
    expect(r).toMatchObject({ error: { class: 'InvalidInput', exitCode: 2 } });
  },

  'sign-in with a 400-character username gets one answer': async (world, rec) => {
    await initAlice(world);
    const r = rec(
      await outcome(() => world.anonymous().signIn({ username: 'x'.repeat(400), password: 'whatever password' })),
    );
    expect(r).toHaveProperty('error');
  },

  'verifying a 5000-character token gets one answer': async (world, rec) => {
    const { me } = await initAlice(world);
    rec(await outcome(() => me.verifyToken('t'.repeat(5000))));
  },

  'overlong text and lone surrogates are refused with the same message': async (world, rec) => {
    const { me } = await initAlice(world);
    for (const call of [
      () => me.createToken({ name: 'n'.repeat(400), scopes: ['dns:read'], resources: [] }),
      () => me.checkIp('1'.repeat(400)),
      () => me.adminListUsers('r'.repeat(400)),
      () => me.changeUsername('ab\uD800cd'),
    ]) {
      const r = rec(await outcome(call));
      expect(r).toMatchObject({ error: { class: 'InvalidInput', exitCode: 2 } });
    }
  },
};

contract(import.meta.url, cases);
