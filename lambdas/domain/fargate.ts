/**
 * TES resources → a Fargate task size. Fargate offers fixed cpu/memory pairs; a task gets the
 * cheapest pair that covers what it asked for, `disk_gb` becomes ephemeral storage (21–200 GiB;
 * up to 20 GiB is the free default) and `preemptible` becomes Fargate Spot. What Fargate cannot
 * serve is refused at CreateTask with the reason, never discovered once the task runs.
 */
import type { Problem } from './errors.js';
import type { TesResources } from './tes.js';

/** vCPU units (1024 = 1 vCPU) → the memory sizes (MiB) Fargate allows with them. */
const COMBINATIONS: readonly (readonly [number, readonly number[]])[] = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

/** us-east-1 Linux list prices (per vCPU-hour, per GB-hour); Spot is taken as 70% off. */
export const FARGATE_PRICES = {
  X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 },
  ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 },
  spotDiscount: 0.7,
  ephemeralGbHour: 0.000111,
  freeEphemeralGiB: 20,
} as const;

export const MAX_VCPU = 16;
export const MAX_MEMORY_GIB = 120;
export const MAX_EPHEMERAL_GIB = 200;
export const DEFAULT_EPHEMERAL_GIB = 20;
/** What a task gets when it asks for nothing: 1 vCPU, 2 GiB, like most workflow engines' defaults. */
export const DEFAULT_CPU_CORES = 1;
export const DEFAULT_RAM_GB = 2;

export interface FargateSize {
  /** CPU units, as ECS writes them ("1024" = 1 vCPU). */
  cpu: number;
  /** MiB. */
  memory: number;
  /** GiB of ephemeral storage; 20 is the default Fargate gives without asking. */
  ephemeralStorageGiB: number;
  spot: boolean;
  architecture: 'X86_64' | 'ARM64';
}

export interface SizingPolicy {
  /** Whether `preemptible: true` may use Fargate Spot (the operator's choice). */
  spotAllowed: boolean;
}

/** Why Fargate cannot serve these resources (empty when it can). */
export function fargateProblems(resources: TesResources | undefined): Problem[] {
  const problems: Problem[] = [];
  if (resources === undefined) return problems;
  if (typeof resources.cpu_cores === 'number' && resources.cpu_cores > MAX_VCPU) {
    problems.push({ path: 'resources.cpu_cores', message: `Fargate offers at most ${MAX_VCPU} vCPUs per task` });
  }
  if (typeof resources.ram_gb === 'number' && resources.ram_gb > MAX_MEMORY_GIB) {
    problems.push({ path: 'resources.ram_gb', message: `Fargate offers at most ${MAX_MEMORY_GIB} GB of memory per task` });
  }
  if (typeof resources.disk_gb === 'number' && resources.disk_gb > MAX_EPHEMERAL_GIB) {
    problems.push({ path: 'resources.disk_gb', message: `Fargate offers at most ${MAX_EPHEMERAL_GIB} GB of disk per task` });
  }
  return problems;
}

function hourlyPrice(cpu: number, memory: number, architecture: FargateSize['architecture']): number {
  const price = FARGATE_PRICES[architecture];
  return (cpu / 1024) * price.vcpuHour + (memory / 1024) * price.gbHour;
}

/** The cheapest Fargate size that covers the request (call fargateProblems first). */
export function fargateSize(resources: TesResources | undefined, policy: SizingPolicy): FargateSize {
  const cores = resources?.cpu_cores ?? DEFAULT_CPU_CORES;
  const ramMiB = Math.ceil((resources?.ram_gb ?? DEFAULT_RAM_GB) * 1024);
  const architecture = resources?.backend_parameters?.['cpu_architecture'] === 'arm64' ? 'ARM64' : 'X86_64';
  let best: { cpu: number; memory: number } | undefined;
  for (const [cpu, memories] of COMBINATIONS) {
    if (cpu / 1024 < cores) continue;
    const memory = memories.find((m) => m >= ramMiB);
    if (memory === undefined) continue;
    if (best === undefined || hourlyPrice(cpu, memory, architecture) < hourlyPrice(best.cpu, best.memory, architecture)) {
      best = { cpu, memory };
    }
  }
  if (best === undefined) throw new Error(`no Fargate size covers ${cores} vCPU and ${ramMiB} MiB`);
  const disk = Math.ceil(resources?.disk_gb ?? 0);
  return {
    ...best,
    ephemeralStorageGiB: disk <= DEFAULT_EPHEMERAL_GIB ? DEFAULT_EPHEMERAL_GIB : Math.max(21, disk),
    spot: resources?.preemptible === true && policy.spotAllowed,
    architecture,
  };
}

/** What a run of `seconds` on `size` costs, for the task's log metadata. */
export function fargateCost(size: FargateSize, seconds: number): { vcpuSeconds: number; gbSeconds: number; usd: number } {
  // Fargate bills per second with a one-minute minimum.
  const billed = Math.max(60, seconds);
  const vcpuSeconds = (size.cpu / 1024) * billed;
  const gbSeconds = (size.memory / 1024) * billed;
  const price = FARGATE_PRICES[size.architecture];
  let usd = (vcpuSeconds * price.vcpuHour + gbSeconds * price.gbHour) / 3600;
  if (size.spot) usd *= 1 - FARGATE_PRICES.spotDiscount;
  usd += (Math.max(0, size.ephemeralStorageGiB - FARGATE_PRICES.freeEphemeralGiB) * billed * FARGATE_PRICES.ephemeralGbHour) / 3600;
  return { vcpuSeconds, gbSeconds, usd };
}
