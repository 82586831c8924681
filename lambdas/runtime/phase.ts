/**
 * One staging phase, stage-in or stage-out, from the environment its container is given: what the
 * runtime image's entry point runs in Fargate, and what the local runner runs itself for a run
 * with nothing to stage (layout below). Stage-in holds only the run's staging ticket
 * (TES_STAGING_TICKET), which it trades once at the staging broker (TES_BROKER_URL) for a session
 * token and leaves for stage-out in the runtime containers' own volume, which the executor never
 * mounts: the token they work with is in no environment, override or workflow history.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { StagingBroker, StagingPlan, StagingSession } from '../ports/staging.js';
import { HttpBrokerClient } from './broker-client.js';
import { parseAllowance } from './public-fetch.js';
import { stageIn, stageOut } from './staging.js';
import { VolumeFs } from './volume-fs.js';

export type Phase = 'stage-in' | 'stage-out';

/** Where the phase finds its volumes. In its container they are at their container paths. */
export interface PhaseLayout {
  /** The runtime containers' own volume (task ephemeral storage). */
  scratchDir: string;
  /** Container path → where it is, for staging outside the container; by default the container path itself. */
  volumes?: ReadonlyMap<string, string>;
  /** Who the volumes' files belong to, where that is not the executor's user (TES_EXECUTOR_USER). */
  owner?: { uid: number; gid: number };
  /**
   * Refuse a plan that moves anything: set where staging runs outside a sandbox (the local runner,
   * for a task with one executor and no inputs or outputs). Such a stage-in that succeeds with
   * nothing to say writes no report: Record reads none, with the stage-in container's exit code 0,
   * as success, and no earlier report can stand in for it (locally no executor runs twice).
   */
  nothingToStage?: boolean;
  /** The broker itself, where the phase runs in the process that holds it: the same calls, without HTTP. */
  broker?: StagingBroker;
  /** The executor's exit code, where the phase runs in the process that saw it (else from the task metadata endpoint). */
  executorExitCode?: number;
}

/** A plan that downloads, uploads and carries nothing. */
export function movesNothing(plan: StagingPlan): boolean {
  return plan.inputs.length === 0 && plan.outputs.length === 0 && plan.carry.restore === undefined && plan.carry.save === undefined;
}

/** The executor's exit code, from the ECS task metadata endpoint (version 4). */
async function executorExitCode(env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const base = env['ECS_CONTAINER_METADATA_URI_V4'];
  if (base === undefined) throw new Error('ECS_CONTAINER_METADATA_URI_V4 is not set');
  const task = (await (await fetch(`${base}/task`)).json()) as { Containers?: { Name?: string; ExitCode?: number }[] };
  const exitCode = task.Containers?.find((c) => c.Name === 'executor')?.ExitCode;
  // A missing exit code means the executor never ran: never read it as success.
  return exitCode ?? 255;
}

/** Stage-in trades the ticket (and gets the plan with the session); stage-out takes what stage-in left. */
async function session(phase: Phase, env: Readonly<Record<string, string | undefined>>, broker: StagingBroker, sessionFile: string): Promise<StagingSession> {
  if (phase === 'stage-in') {
    const ticket = env['TES_STAGING_TICKET'];
    if (!ticket) throw new Error('TES_STAGING_TICKET must be set');
    const traded = await broker.session(ticket);
    await writeFile(sessionFile, traded.token, { mode: 0o600, flag: 'wx' });
    return traded;
  }
  const token = (await readFile(sessionFile, 'utf8')).trim();
  return { token, plan: await broker.plan(token) };
}

/** Runs the phase and reports it to the broker; answers the container's exit code. */
export async function runPhase(phase: string | undefined, env: Readonly<Record<string, string | undefined>>, layout: PhaseLayout): Promise<number> {
  if (phase !== 'stage-in' && phase !== 'stage-out') throw new Error(`usage: main.js stage-in|stage-out (got ${phase ?? 'nothing'})`);
  const brokerUrl = env['TES_BROKER_URL'];
  if (!brokerUrl && layout.broker === undefined) throw new Error('TES_BROKER_URL must be set');
  const broker = layout.broker ?? new HttpBrokerClient(brokerUrl as string);
  const { token, plan } = await session(phase, env, broker, `${layout.scratchDir}/.staging-session`);
  if (layout.nothingToStage === true && !movesNothing(plan)) throw new Error(`${phase} was to stage nothing, but its plan moves files`);
  const where = (mount: string): string => {
    if (layout.volumes === undefined) return mount;
    const host = layout.volumes.get(mount);
    if (host === undefined) throw new Error(`the volume ${mount} is not mounted`);
    return host;
  };
  const fs = new VolumeFs(new Map(plan.mounts.map((m) => [m, where(m)])));
  const [uid, gid] = (env['TES_EXECUTOR_USER'] ?? '1000:1000').split(':').map(Number);
  const maxBytes = Number(env['TES_DISK_LIMIT_BYTES']);
  const context = {
    plan,
    fs,
    broker,
    token,
    owner: layout.owner ?? { uid: uid ?? 1000, gid: gid ?? uid ?? 1000 },
    scratchDir: layout.scratchDir,
    ...(maxBytes > 0 ? { maxBytes } : {}),
    httpAllowance: parseAllowance(env['TES_HTTP_INPUT_ALLOW']),
  };
  if (phase === 'stage-in') {
    const report = await stageIn(context);
    const silent = layout.nothingToStage === true && report.ok && report.warnings.length === 0;
    if (!silent) await broker.report(token, 'stage-in', report);
    return report.ok ? 0 : 1;
  }
  const report = await stageOut(context, layout.executorExitCode ?? (await executorExitCode(env)));
  await broker.report(token, 'stage-out', report);
  return report.ok ? 0 : 1;
}
