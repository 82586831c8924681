import { describe, expect, it } from 'vitest';
import { availableParallelism, totalmem } from 'node:os';
import { CapacityQueue, hostMemoryAvailableMiB } from './capacity.js';
import { localCapacity } from './stack.js';

const task = (cpus: number, memoryGiB: number) => ({ cpus, memoryMiB: memoryGiB * 1024 });
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('how many executors run at once', () => {
  it('starts runs while their vCPUs and memory fit, and the next once one ends', async () => {
    const queue = new CapacityQueue(task(2, 8));
    const first = await queue.reserve(task(1, 2));
    await queue.reserve(task(1, 2));
    let third = false;
    void queue.reserve(task(1, 2)).then(() => (third = true));
    await settled();
    expect(third).toBe(false);
    expect(queue.load).toEqual({ running: 2, waiting: 1, cpus: 2, memoryMiB: 4096 });
    first();
    await settled();
    expect(third).toBe(true);
  });

  it('counts memory as well as CPUs', async () => {
    const queue = new CapacityQueue(task(16, 4));
    await queue.reserve(task(1, 3));
    let second = false;
    void queue.reserve(task(1, 2)).then(() => (second = true));
    await settled();
    expect(second).toBe(false);
  });

  it('runs a task larger than the machine alone rather than never', async () => {
    const queue = new CapacityQueue(task(2, 8));
    const big = await queue.reserve(task(8, 32));
    expect(queue.load.running).toBe(1);
    let small = false;
    void queue.reserve(task(1, 2)).then(() => (small = true));
    await settled();
    expect(small).toBe(false);
    big();
    await settled();
    expect(small).toBe(true);
  });

  it('keeps arrival order: a large run at the head is not starved by small ones behind it', async () => {
    const queue = new CapacityQueue(task(4, 64));
    const a = await queue.reserve(task(1, 2));
    const order: string[] = [];
    void queue.reserve(task(4, 8)).then(() => order.push('large'));
    void queue.reserve(task(1, 2)).then(() => order.push('small'));
    await settled();
    expect(order).toEqual([]);
    a();
    await settled();
    expect(order).toEqual(['large']);
  });

  it('takes a run out of the queue when its waiting is aborted (a cancel), and the next one moves up', async () => {
    const queue = new CapacityQueue(task(1, 8));
    const first = await queue.reserve(task(1, 2));
    const canceled = new AbortController();
    const waiting = queue.reserve(task(1, 2), canceled.signal);
    let next = false;
    void queue.reserve(task(1, 2)).then(() => (next = true));
    canceled.abort(new Error('canceled'));
    await expect(waiting).rejects.toThrow('canceled');
    expect(queue.load.waiting).toBe(1);
    first();
    await settled();
    expect(next).toBe(true);
  });

  it('runs at most maxRuns at once, however little they count', async () => {
    const queue = new CapacityQueue({ ...task(2, 8), maxRuns: 3 });
    const runs = await Promise.all([0, 1, 2].map(() => queue.reserve(task(0, 0.5))));
    let fourth = false;
    void queue.reserve(task(0, 0.5)).then(() => (fourth = true));
    await settled();
    expect(fourth).toBe(false);
    (runs[0] as () => void)();
    await settled();
    expect(fourth).toBe(true);
  });

  it('starts a best-effort run only while the host has its memory available, and tries again as runs end', async () => {
    let availableMiB = 1024;
    const queue = new CapacityQueue({ ...task(2, 8), maxRuns: 32 }, () => availableMiB);
    const bestEffort = { cpus: 0, memoryMiB: 512, availableMiB: 2048 };
    const first = await queue.reserve(task(1, 1));
    let started = false;
    void queue.reserve(bestEffort).then(() => (started = true));
    await settled();
    // It would fit the count (512 MiB of 7 GiB left), but the host has 1 GiB of the 2 it may fill.
    expect(started).toBe(false);
    availableMiB = 4096;
    first();
    await settled();
    expect(started).toBe(true);
    expect(queue.load).toMatchObject({ running: 1, cpus: 0, memoryMiB: 512 });
  });

  it('reads the memory the host has available from /proc/meminfo', () => {
    expect(hostMemoryAvailableMiB()).toBeGreaterThan(0);
    expect(hostMemoryAvailableMiB()).toBeLessThanOrEqual(totalmem() / 1024 ** 2);
  });

  it('releases once, however often it is called', async () => {
    const queue = new CapacityQueue(task(2, 8));
    const release = await queue.reserve(task(1, 2));
    release();
    release();
    expect(queue.load).toEqual({ running: 0, waiting: 0, cpus: 0, memoryMiB: 0 });
  });
});

describe("the machine's capacity for executors", () => {
  it("is this machine's CPUs and its memory less 1 GiB and 16 runs per CPU, or what TES_LOCAL_CPUS, TES_LOCAL_MEMORY_GB and TES_LOCAL_MAX_RUNS say", () => {
    expect(localCapacity({})).toEqual({ cpus: availableParallelism(), memoryMiB: Math.max(1, totalmem() / 1024 ** 3 - 1) * 1024, maxRuns: 16 * availableParallelism() });
    expect(localCapacity({ TES_LOCAL_CPUS: '8', TES_LOCAL_MEMORY_GB: '0.5' })).toEqual({ cpus: 8, memoryMiB: 512, maxRuns: 128 });
    expect(localCapacity({ TES_LOCAL_MAX_RUNS: '3' })).toMatchObject({ maxRuns: 3 });
  });
  it('refuses a setting that is not a positive number, naming the variable', () => {
    expect(() => localCapacity({ TES_LOCAL_CPUS: '0' })).toThrow('TES_LOCAL_CPUS must be a positive number, not "0"');
    expect(() => localCapacity({ TES_LOCAL_MEMORY_GB: 'lots' })).toThrow('TES_LOCAL_MEMORY_GB must be a positive number, not "lots"');
    expect(() => localCapacity({ TES_LOCAL_MAX_RUNS: '2.5' })).toThrow('TES_LOCAL_MAX_RUNS must be an integer, not "2.5"');
  });
});
