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

/** Fargate's Linux prices a cost estimate uses (per vCPU-hour, per GB-hour), and whose they are. */
export interface FargatePrices {
  /** Which prices these are, as the task's metadata says (`cost_prices`). */
  name: string;
  X86_64: { vcpuHour: number; gbHour: number };
  ARM64: { vcpuHour: number; gbHour: number };
  /** Spot's discount, 0.7 for 70% off. */
  spotDiscount: number;
  ephemeralGbHour: number;
  freeEphemeralGiB: number;
}

/** us-east-1 Linux list prices; Spot taken as 70% off. Other regions differ: operators set theirs (TES_FARGATE_PRICES). */
export const FARGATE_PRICES: FargatePrices = {
  name: 'us-east-1 list prices',
  X86_64: { vcpuHour: 0.04048, gbHour: 0.004445 },
  ARM64: { vcpuHour: 0.03238, gbHour: 0.00356 },
  spotDiscount: 0.7,
  ephemeralGbHour: 0.000111,
  freeEphemeralGiB: 20,
};

/**
 * TES_FARGATE_PRICES: the deployment region's prices as JSON, any of FARGATE_PRICES' fields (the rest
 * keep us-east-1's), e.g. `{"name":"eu-west-1 list prices","X86_64":{"vcpuHour":0.04456,"gbHour":0.004865}}`.
 * Throws naming the variable on anything else.
 */
export function fargatePricesFromEnv(text: string | undefined): FargatePrices {
  if (text === undefined || text.trim() === '') return FARGATE_PRICES;
  let given: Partial<FargatePrices>;
  try {
    given = JSON.parse(text) as Partial<FargatePrices>;
  } catch {
    throw new Error('TES_FARGATE_PRICES must be JSON, for example {"name":"eu-west-1 list prices","X86_64":{"vcpuHour":0.04456,"gbHour":0.004865}}');
  }
  const prices: FargatePrices = {
    ...FARGATE_PRICES,
    ...given,
    X86_64: { ...FARGATE_PRICES.X86_64, ...given.X86_64 },
    ARM64: { ...FARGATE_PRICES.ARM64, ...given.ARM64 },
    name: typeof given.name === 'string' && given.name !== '' ? given.name : 'operator-set prices',
  };
  const numbers = [prices.X86_64.vcpuHour, prices.X86_64.gbHour, prices.ARM64.vcpuHour, prices.ARM64.gbHour, prices.spotDiscount, prices.ephemeralGbHour, prices.freeEphemeralGiB];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) || prices.spotDiscount >= 1) {
    throw new Error('TES_FARGATE_PRICES: every price must be a number of at least 0, and spotDiscount less than 1');
  }
  return prices;
}

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
export function fargateCost(size: FargateSize, seconds: number, prices: FargatePrices = FARGATE_PRICES): { vcpuSeconds: number; gbSeconds: number; usd: number } {
  // Fargate bills per second with a one-minute minimum.
  const billed = Math.max(60, seconds);
  const vcpuSeconds = (size.cpu / 1024) * billed;
  const gbSeconds = (size.memory / 1024) * billed;
  const price = prices[size.architecture];
  let usd = (vcpuSeconds * price.vcpuHour + gbSeconds * price.gbHour) / 3600;
  if (size.spot) usd *= 1 - prices.spotDiscount;
  usd += (Math.max(0, size.ephemeralStorageGiB - prices.freeEphemeralGiB) * billed * prices.ephemeralGbHour) / 3600;
  return { vcpuSeconds, gbSeconds, usd };
}
