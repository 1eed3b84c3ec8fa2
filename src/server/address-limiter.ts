// The per-address limits of `acctsec serve` (issue #15): failed attempts per client address in a
// sliding window, and the checks in flight per address. IPv6 clients are grouped by /64: one
// subscriber usually holds a whole /64 and could otherwise take a fresh address for every guess.

export { addressGroup } from '../ip-address.js';

export interface AddressLimiterOptions {
  now: () => number;
  /** Failures per address group in a window before it is refused. */
  failuresPerWindow: number;
  windowMs: number;
  /** Address groups remembered at most; the least recently failed go first beyond it. */
  maxAddresses: number;
  /** Checks of one address group running at once. */
  inFlight: number;
  /** How long a check waits for its turn before it is refused. */
  waitMs: number;
  /** Checks of one address group waiting at most; more are refused at once. */
  maxWaiting: number;
}

/** A turn to run a check (`release` when done), or a refusal with the seconds to wait. */
export type Admission = { release: () => void } | { retryAfter: number; busy: boolean };

interface Lane {
  active: number;
  queue: Array<(admission: Admission) => void>;
}

const NONE: readonly number[] = Object.freeze([]);

export class AddressLimiter {
  /**
   * Failure times by address group, in the order of their last failure (a failure re-inserts its
   * key). Never more than maxAddresses: past it, the map is rebuilt without the expired groups and
   * with only the most recently failed 90% of the cap. A rebuild every cap/10 new groups keeps the
   * cost per failure constant; deleting from the front one by one would not (a Map's deleted slots
   * stay in its iteration order until it rehashes, so each "first entry" lookup would scan them).
   */
  private failures = new Map<string, number[]>();
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly o: AddressLimiterOptions) {}

  get size(): number {
    return this.failures.size;
  }

  /** The failures of the window, dropping older ones (never reorders the map). */
  recent(group: string): readonly number[] {
    const kept = this.failures.get(group);
    if (!kept) return NONE;
    const cutoff = this.o.now() - this.o.windowMs;
    if (kept[0]! > cutoff) return kept;
    const list = kept.filter((t) => t > cutoff);
    if (list.length) this.failures.set(group, list);
    else this.failures.delete(group);
    return list;
  }

  /** Seconds until the group may try again, or 0 when it may now. */
  retryAfter(group: string): number {
    const recent = this.recent(group);
    if (recent.length < this.o.failuresPerWindow) return 0;
    return Math.max(
      1,
      Math.ceil((recent[recent.length - this.o.failuresPerWindow]! + this.o.windowMs - this.o.now()) / 1000),
    );
  }

  recordFailure(group: string): void {
    const t = this.o.now();
    const list = [...this.recent(group), t].slice(-this.o.failuresPerWindow);
    this.failures.delete(group);
    this.failures.set(group, list);
    if (this.failures.size > this.o.maxAddresses) {
      const cutoff = t - this.o.windowMs;
      const live = [...this.failures].filter(([, times]) => times[times.length - 1]! > cutoff);
      this.failures = new Map(live.slice(-Math.floor(this.o.maxAddresses * 0.9)));
    }
  }

  /**
   * A turn for a check of `group`: at once when fewer than `inFlight` run and the failures so far plus
   * the checks in flight stay under the window's allowance (a check in flight may yet fail, so parallel
   * requests cannot overshoot it); otherwise it waits, at most `waitMs`, for a running check to end.
   * Refused at once when the allowance is used up with nothing in flight, or too many already wait.
   */
  admit(group: string): Promise<Admission> {
    let lane = this.lanes.get(group);
    if (!lane) this.lanes.set(group, (lane = { active: 0, queue: [] }));
    const verdict = this.verdict(group, lane);
    if (verdict !== 'wait') return Promise.resolve(verdict);
    if (lane.queue.length >= this.o.maxWaiting) return Promise.resolve(this.busy(group, lane));
    const l = lane;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = l.queue.indexOf(waiter);
        if (i >= 0) l.queue.splice(i, 1);
        resolve(this.busy(group, l));
      }, this.o.waitMs);
      const waiter = (admission: Admission): void => {
        clearTimeout(timer);
        resolve(admission);
      };
      l.queue.push(waiter);
    });
  }

  private verdict(group: string, lane: Lane): Admission | 'wait' {
    const failed = this.recent(group).length;
    if (lane.active < this.o.inFlight && failed + lane.active < this.o.failuresPerWindow) {
      lane.active++;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          lane.active--;
          this.pump(group, lane);
        },
      };
    }
    if (lane.active === 0) {
      this.drop(group, lane);
      return { retryAfter: this.retryAfter(group) || 1, busy: false };
    }
    return 'wait';
  }

  private busy(group: string, lane: Lane): Admission {
    this.drop(group, lane);
    return { retryAfter: Math.max(1, Math.ceil(this.o.waitMs / 1000)), busy: true };
  }

  /** A check ended: the waiters next in line get their turn, or their refusal. */
  private pump(group: string, lane: Lane): void {
    while (lane.queue.length) {
      const verdict = this.verdict(group, lane);
      if (verdict === 'wait') return;
      lane.queue.shift()!(verdict);
    }
    this.drop(group, lane);
  }

  /** The lane goes once nothing runs or waits in it: the map holds only groups with checks. */
  private drop(group: string, lane: Lane): void {
    if (lane.active === 0 && lane.queue.length === 0 && this.lanes.get(group) === lane) this.lanes.delete(group);
  }
}

export interface RequestBudgetOptions {
  now: () => number;
  /** Requests a group may make at once, and again per `perMs`. */
  capacity: number;
  perMs: number;
  /** Groups remembered at most (see take). */
  maxGroups: number;
}

/**
 * A budget of requests per group (a token bucket): per calling credential for introspection, per
 * address group for anonymous OAuth requests that make the server store something (an authorization
 * or device request), so one caller cannot take more than its rate however fast it asks.
 */
export class RequestBudget {
  /** [requests left, when counted], updated in place: this runs on introspection's hot path. */
  private readonly buckets = new Map<string, [number, number]>();
  private readonly perMs: number;

  constructor(private readonly o: RequestBudgetOptions) {
    this.perMs = o.capacity / o.perMs;
  }

  /**
   * Spends one request of the group's budget: 0 when it had one, otherwise the seconds until it has.
   * A new group past maxGroups first forgets the groups whose bucket has refilled (a full bucket is
   * what a new one would be); if none has, it starts over.
   */
  take(group: string): number {
    const now = this.o.now();
    let bucket = this.buckets.get(group);
    if (!bucket) {
      if (this.buckets.size >= this.o.maxGroups) {
        for (const [k, [left, at]] of this.buckets)
          if (left + (now - at) * this.perMs >= this.o.capacity) this.buckets.delete(k);
        if (this.buckets.size >= this.o.maxGroups) this.buckets.clear();
      }
      this.buckets.set(group, (bucket = [this.o.capacity, now]));
    } else {
      bucket[0] = Math.min(this.o.capacity, bucket[0] + (now - bucket[1]) * this.perMs);
      bucket[1] = now;
    }
    if (bucket[0] < 1) return Math.max(1, Math.ceil((1 - bucket[0]) / this.perMs / 1000));
    bucket[0] -= 1;
    return 0;
  }
}
