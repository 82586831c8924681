/**
 * Which runtime runs local executors: TES_LOCAL_RUNTIME (podman, docker or bubblewrap), or the first
 * of those that works here. A runtime that was asked for and cannot run is reported, never replaced
 * by a weaker one behind the operator's back.
 */
import { BubblewrapSandbox } from './bubblewrap.js';
import { ContainerSandbox } from './container-runtime.js';
import { RUNTIME_KINDS, type RuntimeKind, type Sandbox } from './sandbox.js';

export interface ChosenRuntime {
  sandbox: Sandbox;
  /** Why tasks cannot run here, when they cannot. */
  problem?: string;
}

async function create(kind: RuntimeKind): Promise<Sandbox> {
  if (kind === 'bubblewrap') return new BubblewrapSandbox();
  const host = await ContainerSandbox.hostInfo(kind).catch(() => undefined);
  return new ContainerSandbox(kind, host);
}

async function problemOf(kind: RuntimeKind): Promise<string | undefined> {
  return kind === 'bubblewrap' ? BubblewrapSandbox.detect() : ContainerSandbox.detect(kind);
}

/** Reads TES_LOCAL_RUNTIME; throws naming the variable when it is not one of the runtimes. */
export function requestedRuntime(env: Readonly<Record<string, string | undefined>>): RuntimeKind | undefined {
  const raw = env['TES_LOCAL_RUNTIME']?.trim();
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  if (!(RUNTIME_KINDS as readonly string[]).includes(raw)) throw new Error(`TES_LOCAL_RUNTIME must be one of ${RUNTIME_KINDS.join(', ')} or auto, not ${JSON.stringify(raw)}`);
  return raw as RuntimeKind;
}

export async function chooseRuntime(env: Readonly<Record<string, string | undefined>>): Promise<ChosenRuntime> {
  const requested = requestedRuntime(env);
  if (requested !== undefined) {
    const problem = await problemOf(requested);
    return { sandbox: await create(requested), ...(problem === undefined ? {} : { problem }) };
  }
  const tried: string[] = [];
  for (const kind of RUNTIME_KINDS) {
    const problem = await problemOf(kind);
    if (problem === undefined) return { sandbox: await create(kind) };
    tried.push(problem);
  }
  return { sandbox: await create('bubblewrap'), problem: tried.join('; ') };
}
