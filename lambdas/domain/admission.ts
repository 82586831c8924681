/**
 * The admission policy: what an operator allows beyond the spec, checked at CreateTask before
 * anything is stored or started, the same in the cloud and locally. Every rule is configured in one
 * place, ADMISSION_SETTINGS: an environment variable for the API (locally, `npm start`'s
 * environment) and a CDK context key for a deployment. A refused task is a 400 whose details name
 * the field and the rule (`rule: "max_disk_gb"`).
 */
import type { Problem } from './errors.js';
import { executorOverrideBytes, MAX_EXECUTOR_OVERRIDE_BYTES } from './task-definition.js';
import type { TesTask } from './tes.js';

export interface AdmissionPolicy {
  /** Image prefixes executors may use (`public.ecr.aws/`, `123456789012.dkr.ecr.`); empty allows any. */
  allowedImagePrefixes: readonly string[];
  /** The most a task may ask for; unset leaves Fargate's own limits (16 vCPU, 120 GB, 200 GB). */
  maxCpuCores?: number;
  maxRamGb?: number;
  maxDiskGb?: number;
  /** Executors per task. */
  maxExecutors: number;
  /** One executor's command and environment, as JSON, in bytes (ECS caps it at 6 KiB). */
  maxExecutorBytes: number;
  /** One input's `content`, in bytes. */
  maxContentBytes: number;
}

export type AdmissionRule =
  | 'allowed_image_prefixes'
  | 'max_cpu_cores'
  | 'max_ram_gb'
  | 'max_disk_gb'
  | 'max_executors'
  | 'max_executor_bytes'
  | 'max_content_bytes';

interface Setting {
  env: string;
  context: string;
  default: string;
  describe: string;
}

/** Every rule, where it is configured and its default: the README's admission table mirrors this. */
export const ADMISSION_SETTINGS: Record<AdmissionRule, Setting> = {
  allowed_image_prefixes: {
    env: 'TES_ALLOWED_IMAGE_PREFIXES',
    context: 'allowedImagePrefixes',
    default: 'empty: any image',
    describe: 'comma-separated prefixes every executor image must start with',
  },
  max_cpu_cores: { env: 'TES_MAX_CPU_CORES', context: 'maxCpuCores', default: '16 (Fargate)', describe: 'the most `resources.cpu_cores` a task may ask for' },
  max_ram_gb: { env: 'TES_MAX_RAM_GB', context: 'maxRamGb', default: '120 (Fargate)', describe: 'the most `resources.ram_gb`' },
  max_disk_gb: { env: 'TES_MAX_DISK_GB', context: 'maxDiskGb', default: '200 (Fargate)', describe: 'the most `resources.disk_gb`' },
  max_executors: { env: 'TES_MAX_EXECUTORS', context: 'maxExecutors', default: '100', describe: 'executors per task' },
  max_executor_bytes: {
    env: 'TES_MAX_EXECUTOR_BYTES',
    context: 'maxExecutorBytes',
    default: `${MAX_EXECUTOR_OVERRIDE_BYTES} (also the ceiling)`,
    describe: "one executor's command and env together, as JSON",
  },
  max_content_bytes: { env: 'TES_MAX_CONTENT_BYTES', context: 'maxContentBytes', default: '4194304', describe: "one input's `content`" },
};

export const DEFAULT_ADMISSION: AdmissionPolicy = {
  allowedImagePrefixes: [],
  maxExecutors: 100,
  maxExecutorBytes: MAX_EXECUTOR_OVERRIDE_BYTES,
  maxContentBytes: 4 * 1024 * 1024,
};

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the policy from ADMISSION_SETTINGS' variables; throws naming the variable that is wrong. */
export function admissionFromEnv(env: Env): AdmissionPolicy {
  const raw = (rule: AdmissionRule): string | undefined => {
    const value = env[ADMISSION_SETTINGS[rule].env]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const number = (rule: AdmissionRule, options: { integer?: boolean; ceiling?: number } = {}): number | undefined => {
    const text = raw(rule);
    if (text === undefined) return undefined;
    const value = Number(text);
    const name = ADMISSION_SETTINGS[rule].env;
    if (!(value > 0) || (options.integer === true && !Number.isInteger(value))) {
      throw new Error(`${name} must be a positive ${options.integer === true ? 'integer' : 'number'}, not ${JSON.stringify(text)}`);
    }
    if (options.ceiling !== undefined && value > options.ceiling) throw new Error(`${name} must be at most ${options.ceiling}, not ${text}`);
    return value;
  };
  const policy: AdmissionPolicy = {
    ...DEFAULT_ADMISSION,
    allowedImagePrefixes: (raw('allowed_image_prefixes') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
  };
  const cpu = number('max_cpu_cores');
  const ram = number('max_ram_gb');
  const disk = number('max_disk_gb');
  if (cpu !== undefined) policy.maxCpuCores = cpu;
  if (ram !== undefined) policy.maxRamGb = ram;
  if (disk !== undefined) policy.maxDiskGb = disk;
  policy.maxExecutors = number('max_executors', { integer: true }) ?? policy.maxExecutors;
  policy.maxExecutorBytes = number('max_executor_bytes', { integer: true, ceiling: MAX_EXECUTOR_OVERRIDE_BYTES }) ?? policy.maxExecutorBytes;
  policy.maxContentBytes = number('max_content_bytes', { integer: true }) ?? policy.maxContentBytes;
  return policy;
}

function refused(path: string, rule: AdmissionRule, message: string): Problem {
  return { path, message: `${message} (admission rule ${rule})`, rule };
}

/** Every rule a well-formed task breaks, each with the field and the rule. */
export function admissionProblems(task: TesTask, policy: AdmissionPolicy): Problem[] {
  const problems: Problem[] = [];
  const limits = [
    ['cpu_cores', 'max_cpu_cores', policy.maxCpuCores],
    ['ram_gb', 'max_ram_gb', policy.maxRamGb],
    ['disk_gb', 'max_disk_gb', policy.maxDiskGb],
  ] as const;
  for (const [field, rule, limit] of limits) {
    const value = task.resources?.[field];
    if (limit !== undefined && typeof value === 'number' && value > limit) {
      problems.push(refused(`resources.${field}`, rule, `${value} exceeds this service's limit of ${limit}`));
    }
  }
  if (task.executors.length > policy.maxExecutors) {
    problems.push(refused('executors', 'max_executors', `${task.executors.length} executors exceed this service's limit of ${policy.maxExecutors}`));
  }
  task.executors.forEach((executor, i) => {
    if (policy.allowedImagePrefixes.length > 0 && !policy.allowedImagePrefixes.some((prefix) => executor.image.startsWith(prefix))) {
      problems.push(
        refused(`executors[${i}].image`, 'allowed_image_prefixes', `is not from an allowed registry (allowed: ${policy.allowedImagePrefixes.join(', ')})`),
      );
    }
    const bytes = executorOverrideBytes(executor);
    if (bytes > policy.maxExecutorBytes) {
      problems.push(
        refused(
          `executors[${i}]`,
          'max_executor_bytes',
          `command and env take ${bytes} bytes; the limit is ${policy.maxExecutorBytes} (put long scripts in a content input)`,
        ),
      );
    }
  });
  (task.inputs ?? []).forEach((input, i) => {
    const bytes = input.content === undefined ? 0 : Buffer.byteLength(input.content);
    if (bytes > policy.maxContentBytes) {
      problems.push(
        refused(`inputs[${i}].content`, 'max_content_bytes', `takes ${bytes} bytes; the limit is ${policy.maxContentBytes} (stage large inputs from a url)`),
      );
    }
  });
  return problems;
}
