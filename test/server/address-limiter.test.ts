import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AddressLimiter, addressGroup } from '../../src/server/address-limiter.js';

// Issue #15 §1: the per-address limits of `acctsec serve`.

/** The heap in use after a full collection (so garbage does not count). */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

function limiter(over: Partial<ConstructorParameters<typeof AddressLimiter>[0]> = {}) {
  const clock = { t: 1_000_000 };
  const l = new AddressLimiter({
    now: () => clock.t,
    failuresPerWindow: 30,
    windowMs: 300_000,
    maxAddresses: 50_000,
    inFlight: 4,
    waitMs: 200,
    maxWaiting: 8,
    ...over,
  });
  return { l, clock };
}

describe('address groups', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s is limited as %s', (address, group) => {
    expect(addressGroup(address)).toBe(group);
  });
});

describe('the failure map', () => {
  it('500,000 distinct addresses keep it at its cap and its heap bounded (the oldest go first)', () => {
    const { l, clock } = limiter();
    const before = liveHeap();
    let largest = 0;
    for (let i = 0; i < 500_000; i++) {
      clock.t += 1;
      l.recordFailure(
        `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`.replace(
          /^10\.(\d+)/,
          (_, a: string) => `${10 + (i >> 24)}.${a}`,
        ),
      );
      largest = Math.max(largest, l.size);
    }
    expect(largest).toBe(50_000);
    // 50,000 entries of a short key and a one-number array: a few MB live, far under 40 MB.
    expect(liveHeap() - before).toBeLessThan(40 * 1024 * 1024);
    expect(l.recent('10.0.0.0')).toEqual([]); // the oldest was evicted
    expect(l.recent('10.7.161.31')).toHaveLength(1); // the newest (499,999) was kept
  });

  it('entries expire after the window: a read drops them, and so does the next rebuild at the cap', () => {
    const { l, clock } = limiter({ maxAddresses: 100 });
    for (let i = 0; i < 100; i++) l.recordFailure(`198.51.100.${i}`);
    expect(l.size).toBe(100);
    clock.t += 300_001;
    expect(l.recent('198.51.100.0')).toEqual([]);
    expect(l.size).toBe(99);
    l.recordFailure('203.0.113.1');
    l.recordFailure('203.0.113.2');
    expect(l.size).toBe(2); // the 100th+1 group rebuilt the map without the 99 expired ones
  });

  it('30 failures in the window refuse the address group until the first of them leaves it', () => {
    const { l, clock } = limiter();
    for (let i = 0; i < 30; i++) {
      clock.t += 1000;
      l.recordFailure('2001:db8::/64');
    }
    expect(l.retryAfter('2001:db8::/64')).toBe(271);
    clock.t += 271_000;
    expect(l.retryAfter('2001:db8::/64')).toBe(0);
  });
});

describe('checks in flight', () => {
  it('at most 4 at once; the rest wait their turn and go when one ends', async () => {
    const { l } = limiter();
    const turns = await Promise.all([1, 2, 3, 4].map(() => l.admit('a')));
    expect(turns.every((t) => 'release' in t)).toBe(true);
    const fifth = l.admit('a');
    let settled = false;
    void fifth.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    (turns[0] as { release: () => void }).release();
    expect('release' in (await fifth)).toBe(true);
  });

  it('a wait is bounded: refused (busy) after waitMs; and too many waiters are refused at once', async () => {
    const { l } = limiter({ maxWaiting: 1 });
    await Promise.all([1, 2, 3, 4].map(() => l.admit('a')));
    const waiting = l.admit('a');
    expect(await l.admit('a')).toMatchObject({ busy: true });
    expect(await waiting).toMatchObject({ busy: true });
  });

  it('failures so far plus checks in flight never exceed the allowance: with 28 failures only 2 may start', async () => {
    const { l } = limiter();
    for (let i = 0; i < 28; i++) l.recordFailure('a');
    const first = await l.admit('a');
    const second = await l.admit('a');
    expect('release' in first && 'release' in second).toBe(true);
    const third = l.admit('a');
    l.recordFailure('a');
    (first as { release: () => void }).release();
    l.recordFailure('a');
    (second as { release: () => void }).release();
    expect(await third).toMatchObject({ busy: false });
  });
});
