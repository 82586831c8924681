/**
 * The entry point of our runtime image's two containers: `stage-in` and `stage-out`. Stage-in holds
 * only the run's staging ticket (TES_STAGING_TICKET), which it trades once at the staging broker
 * (TES_BROKER_URL) for a session token and leaves for stage-out in the runtime containers' own
 * volume, which the executor never mounts: the token they work with is in no environment, override
 * or workflow history. The task's volumes are mounted at their container paths, so no path mapping
 * is needed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { StagingSession } from '../ports/staging.js';
import { HttpBrokerClient } from './broker-client.js';
import { parseAllowance } from './public-fetch.js';
import { stageIn, stageOut } from './staging.js';
import { VolumeFs } from './volume-fs.js';

/** The runtime containers' own volume (task ephemeral storage), never mounted in the executor. */
const SCRATCH_DIR = '/tes-scratch';

/** The executor's exit code, from the ECS task metadata endpoint (version 4). */
async function executorExitCode(): Promise<number> {
  const base = process.env['ECS_CONTAINER_METADATA_URI_V4'];
  if (base === undefined) throw new Error('ECS_CONTAINER_METADATA_URI_V4 is not set');
  const task = (await (await fetch(`${base}/task`)).json()) as { Containers?: { Name?: string; ExitCode?: number }[] };
  const exitCode = task.Containers?.find((c) => c.Name === 'executor')?.ExitCode;
  // A missing exit code means the executor never ran: never read it as success.
  return exitCode ?? 255;
}

/** Where stage-in leaves the session token for stage-out. */
const SESSION_FILE = `${SCRATCH_DIR}/.staging-session`;

/** Stage-in trades the ticket (and gets the plan with the session); stage-out takes what stage-in left. */
async function session(phase: string | undefined, broker: HttpBrokerClient): Promise<StagingSession> {
  if (phase === 'stage-in') {
    const ticket = process.env['TES_STAGING_TICKET'];
    if (!ticket) throw new Error('TES_STAGING_TICKET must be set');
    const traded = await broker.session(ticket);
    await writeFile(SESSION_FILE, traded.token, { mode: 0o600, flag: 'wx' });
    return traded;
  }
  const token = (await readFile(SESSION_FILE, 'utf8')).trim();
  return { token, plan: await broker.plan(token) };
}

async function main(phase: string | undefined): Promise<number> {
  const brokerUrl = process.env['TES_BROKER_URL'];
  if (!brokerUrl) throw new Error('TES_BROKER_URL must be set');
  const broker = new HttpBrokerClient(brokerUrl);
  const { token, plan } = await session(phase, broker);
  const fs = new VolumeFs(new Map(plan.mounts.map((m) => [m, m])));
  const [uid, gid] = (process.env['TES_EXECUTOR_USER'] ?? '1000:1000').split(':').map(Number);
  const maxBytes = Number(process.env['TES_DISK_LIMIT_BYTES']);
  const context = {
    plan,
    fs,
    broker,
    token,
    owner: { uid: uid ?? 1000, gid: gid ?? uid ?? 1000 },
    scratchDir: SCRATCH_DIR,
    ...(maxBytes > 0 ? { maxBytes } : {}),
    httpAllowance: parseAllowance(process.env['TES_HTTP_INPUT_ALLOW']),
  };
  if (phase === 'stage-in') {
    const report = await stageIn(context);
    await broker.report(token, 'stage-in', report);
    return report.ok ? 0 : 1;
  }
  if (phase === 'stage-out') {
    const report = await stageOut(context, await executorExitCode());
    await broker.report(token, 'stage-out', report);
    return report.ok ? 0 : 1;
  }
  throw new Error(`usage: main.js stage-in|stage-out (got ${phase ?? 'nothing'})`);
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(2);
  },
);
