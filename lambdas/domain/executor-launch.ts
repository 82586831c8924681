/**
 * How an executor's command becomes a container's entry point and command. The spec's `command` is
 * argv: `command[0]` is the program, and the image's ENTRYPOINT does not run. When stdin, stdout or
 * stderr are given as paths, a POSIX shell from the image redirects them; the paths travel as
 * environment variables, so no user text is ever parsed by the shell.
 */
import type { TesExecutor } from './tes.js';

export interface ExecutorLaunch {
  /** Fixed in the task definition (ECS cannot override it at run time). */
  entryPoint: string[];
  /** Given at run time (ECS container override). */
  command: string[];
  environment: Record<string, string>;
}

export const STDIO_ENV = { stdin: 'TES_STDIN', stdout: 'TES_STDOUT', stderr: 'TES_STDERR' } as const;

/** The shell script that redirects the streams that are set, then execs argv unchanged. */
export function redirectionScript(executor: Pick<TesExecutor, 'stdin' | 'stdout' | 'stderr'>): string | undefined {
  const parts: string[] = [];
  if (executor.stdin !== undefined) parts.push(`<"$${STDIO_ENV.stdin}"`);
  if (executor.stdout !== undefined) parts.push(`>"$${STDIO_ENV.stdout}"`);
  if (executor.stderr !== undefined) parts.push(`2>"$${STDIO_ENV.stderr}"`);
  return parts.length === 0 ? undefined : `exec "$@" ${parts.join(' ')}`;
}

export function executorLaunch(executor: TesExecutor): ExecutorLaunch {
  const environment: Record<string, string> = { ...(executor.env ?? {}) };
  const script = redirectionScript(executor);
  if (script === undefined) {
    const [program, ...args] = executor.command;
    return { entryPoint: [program as string], command: args, environment };
  }
  for (const stream of ['stdin', 'stdout', 'stderr'] as const) {
    const path = executor[stream];
    if (path !== undefined) environment[STDIO_ENV[stream]] = path;
  }
  return { entryPoint: ['/bin/sh', '-c', script, 'tes-executor'], command: [...executor.command], environment };
}
