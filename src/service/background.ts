// Work that runs after the caller has its answer (issue #15): mail whose delivery time, or whose very
// existence, would tell an outsider whether an account exists, has a recovery address, or was just
// given its right password. The answer goes out first; the work follows on the next turn of the
// event loop, and a failure is logged for the operator, never thrown at the caller.

export interface Background {
  /** Runs `task` after the current answer is out; `what` names it in the log when it fails. */
  run(what: string, task: () => unknown): void;
  /** Resolves once every task started so far has finished: the CLI and `serve` wait for it before closing the store. */
  settled(): Promise<void>;
}

export function createBackground(log: (line: string) => void): Background {
  const pending = new Set<Promise<void>>();
  return {
    run(what, task) {
      const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        .then(
          () => undefined,
          (err: unknown) => log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => pending.delete(done));
      pending.add(done);
    },
    async settled() {
      // A task may start another (a notice after a send): wait until none is left.
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
