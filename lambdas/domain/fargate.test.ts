import { describe, expect, it } from 'vitest';
import { FARGATE_PRICES, fargateCost, fargatePricesFromEnv, fargateProblems, fargateSize } from './fargate.js';

const policy = { spotAllowed: true };

describe('Fargate sizing', () => {
  it('gives 1 vCPU and 2 GiB to a task that asks for nothing', () => {
    expect(fargateSize(undefined, policy)).toEqual({ cpu: 1024, memory: 2048, ephemeralStorageGiB: 20, spot: false, architecture: 'X86_64' });
  });

  it.each([
    [{ cpu_cores: 1, ram_gb: 0.5 }, 1024, 2048],
    [{ cpu_cores: 2, ram_gb: 4 }, 2048, 4096],
    [{ cpu_cores: 2, ram_gb: 4.1 }, 2048, 5120],
    [{ cpu_cores: 1, ram_gb: 16 }, 2048, 16384],
    [{ cpu_cores: 3, ram_gb: 1 }, 4096, 8192],
    [{ cpu_cores: 4, ram_gb: 31 }, 8192, 32768],
    [{ cpu_cores: 16, ram_gb: 120 }, 16384, 122880],
  ])('sizes %j as the cheapest covering pair (%i cpu units, %i MiB)', (resources, cpu, memory) => {
    expect(fargateSize(resources, policy)).toMatchObject({ cpu, memory });
  });

  it('maps disk_gb to ephemeral storage of 21–200 GiB, 20 being the free default', () => {
    expect(fargateSize({ disk_gb: 10 }, policy).ephemeralStorageGiB).toBe(20);
    expect(fargateSize({ disk_gb: 20.5 }, policy).ephemeralStorageGiB).toBe(21);
    expect(fargateSize({ disk_gb: 150 }, policy).ephemeralStorageGiB).toBe(150);
  });

  it('uses Spot for preemptible tasks only when the operator allows it', () => {
    expect(fargateSize({ preemptible: true }, policy).spot).toBe(true);
    expect(fargateSize({ preemptible: true }, { spotAllowed: false }).spot).toBe(false);
    expect(fargateSize({ preemptible: false }, policy).spot).toBe(false);
  });

  it('runs on Graviton when cpu_architecture is arm64', () => {
    expect(fargateSize({ backend_parameters: { cpu_architecture: 'arm64' } }, policy).architecture).toBe('ARM64');
  });

  it('refuses what Fargate cannot serve, naming the field', () => {
    expect(fargateProblems({ cpu_cores: 32, ram_gb: 256, disk_gb: 500 }).map((p) => p.path)).toEqual([
      'resources.cpu_cores',
      'resources.ram_gb',
      'resources.disk_gb',
    ]);
    expect(fargateProblems({ cpu_cores: 16, ram_gb: 120, disk_gb: 200 })).toEqual([]);
  });

  it("prices a run at the deployment region's prices when the operator sets them, naming them", () => {
    const size = fargateSize({ cpu_cores: 1, ram_gb: 2 }, policy);
    const eu = fargatePricesFromEnv('{"name":"eu-west-1 list prices","X86_64":{"vcpuHour":0.04456,"gbHour":0.004865}}');
    expect(eu.name).toBe('eu-west-1 list prices');
    expect(eu.ARM64).toEqual(FARGATE_PRICES.ARM64);
    expect(fargateCost(size, 3600, eu).usd).toBeCloseTo(0.04456 + 2 * 0.004865, 6);
    expect(fargatePricesFromEnv(undefined)).toBe(FARGATE_PRICES);
    expect(() => fargatePricesFromEnv('cheap')).toThrow(/TES_FARGATE_PRICES must be JSON/);
    expect(() => fargatePricesFromEnv('{"X86_64":{"vcpuHour":-1}}')).toThrow(/at least 0/);
    expect(() => fargatePricesFromEnv('{"spotDiscount":1.5}')).toThrow(/spotDiscount less than 1/);
  });

  it('costs a run with the one-minute minimum, Spot discount and extra storage', () => {
    const size = fargateSize({ cpu_cores: 1, ram_gb: 2 }, policy);
    const tenMinutes = fargateCost(size, 600);
    expect(tenMinutes.vcpuSeconds).toBe(600);
    expect(tenMinutes.gbSeconds).toBe(1200);
    expect(tenMinutes.usd).toBeCloseTo(0.04048 / 6 + (2 * 0.004445) / 6, 6);
    expect(fargateCost(size, 5).vcpuSeconds).toBe(60);
    expect(fargateCost({ ...size, spot: true }, 600).usd).toBeCloseTo(tenMinutes.usd * 0.3, 6);
  });
});
