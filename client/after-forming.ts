/**
 * Work that can wait while our connections form: a page forming a mesh on a busy machine
 * gets its channels open first (measured: the identity exchange at each channel's open
 * cost a page ~50 ms of main thread in a mesh of four, and the mesh of eight formed ~5%
 * faster once it waited; bench/README.md). A task runs at once when nothing is forming,
 * else at the first `check()` that finds nothing forming, or after `maxWaitMs` at the
 * latest (a connection that never opens does not hold it back for good).
 */
export class AfterForming {
  readonly #tasks: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly forming: () => boolean,
    readonly maxWaitMs: number,
  ) {}

  /** Runs `task` now if nothing is forming, else later (in the order given). */
  run(task: () => void): void {
    if (this.#tasks.length === 0 && !this.forming()) return task();
    this.#tasks.push(task);
    this.#timer ??= setTimeout(() => this.#flush(), this.maxWaitMs);
  }

  /** Something may have finished forming: runs what waits if nothing is forming now. */
  check(): void {
    if (this.#tasks.length > 0 && !this.forming()) this.#flush();
  }

  /** Drops what waits (the mesh is closing). */
  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#tasks.length = 0;
  }

  #flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const task of this.#tasks.splice(0)) task();
  }
}
