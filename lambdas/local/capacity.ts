/**
 * How many executors run at once on this machine: as many as fit, and at most `maxRuns`. Each run
 * counts the vCPUs and memory it is given (runner: its Fargate size, or a best-effort share for a
 * task that asked for no resources); runs start in arrival order while that fits beside what runs
 * (a run larger than the machine starts once it would run alone), so a large run at the head of the
 * queue is never starved by smaller ones behind it.
 */
import { readFileSync } from 'node:fs';

/** vCPUs and MiB of memory. */
export interface Capacity {
  cpus: number;
  memoryMiB: number;
}

/** What executors share on this machine: vCPUs and memory, and how many runs at most at once. */
export interface MachineCapacity extends Capacity {
  maxRuns: number;
}

/**
 * What a run counts, and, for a best-effort run, the memory the host must have available (not
 * promised to any run) for it to start: it counts little, so the count alone would not stop it.
 */
export interface RunSize extends Capacity {
  availableMiB?: number;
}

/** The host's available memory (MemAvailable), in MiB; undefined where it cannot be read. */
export function hostMemoryAvailableMiB(): number | undefined {
  try {
    const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  } catch {
    return undefined;
  }
}

export class CapacityQueue {
  private running = 0;
  private readonly used: Capacity = { cpus: 0, memoryMiB: 0 };
  private readonly waiting: { size: RunSize; start: () => void }[] = [];

  constructor(
    private readonly capacity: Capacity & { maxRuns?: number },
    private readonly memoryAvailableMiB: () => number | undefined = hostMemoryAvailableMiB,
  ) {}

  /**
   * Resolves once `size` may run; call the returned function when it has ended. Aborting `signal`
   * while it waits takes it out of the queue and rejects (a canceled task waits for nothing).
   */
  async reserve(size: RunSize, signal?: AbortSignal): Promise<() => void> {
    const take = (): void => {
      this.running += 1;
      this.used.cpus += size.cpus;
      this.used.memoryMiB += size.memoryMiB;
    };
    signal?.throwIfAborted();
    if (this.waiting.length === 0 && this.fits(size)) take();
    else {
      await new Promise<void>((resolve, reject) => {
        const entry = {
          size,
          start: () => {
            signal?.removeEventListener('abort', abort);
            take();
            resolve();
          },
        };
        const abort = (): void => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          this.admit();
          reject(signal?.reason as Error);
        };
        signal?.addEventListener('abort', abort, { once: true });
        this.waiting.push(entry);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      this.used.cpus -= size.cpus;
      this.used.memoryMiB -= size.memoryMiB;
      this.admit();
    };
  }

  /** Starts the runs at the head of the queue that fit now. */
  private admit(): void {
    while (this.waiting.length > 0 && this.fits((this.waiting[0] as { size: RunSize }).size)) (this.waiting.shift() as { start: () => void }).start();
  }

  /** What runs and what waits. */
  get load(): { running: number; waiting: number } & Capacity {
    return { running: this.running, waiting: this.waiting.length, ...this.used };
  }

  private fits(size: RunSize): boolean {
    if (this.running === 0) return true;
    if (this.running >= (this.capacity.maxRuns ?? Infinity)) return false;
    if (this.used.cpus + size.cpus > this.capacity.cpus || this.used.memoryMiB + size.memoryMiB > this.capacity.memoryMiB) return false;
    if (size.availableMiB === undefined) return true;
    // Checked again each time a run ends, while it waits.
    return (this.memoryAvailableMiB() ?? Infinity) >= size.availableMiB;
  }
}
