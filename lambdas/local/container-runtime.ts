/**
 * Executors in a real container runtime (Podman, or Docker where a daemon answers), running the
 * task's own image with what Fargate enforces and what these runtimes can add: uid:gid 1000:1000,
 * a read-only root, every capability dropped, no new privileges, the runtime's default seccomp
 * profile, no network, an init, and the task's limits (memory, CPUs, processes, sized /tmp, $HOME
 * and /dev/shm). Images are pulled on first use. With rootful Podman the container's user is the
 * task's own unprivileged host uid (a user-namespace mapping), as with bubblewrap.
 *
 * Every task value reaches the runtime where no option can be: `image` matches the OCI reference
 * grammar and follows `--`, options are written `--name=value`, and argv follows the image.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { qualifiedImage } from '../domain/image-reference.js';
import { ImageUnavailableError, killGroup, launcherEnvironment, runningAsRoot, TASK_UID_BLOCK, type Finished, type Prepared, type Sandbox, type SandboxSpec } from './sandbox.js';

const run = promisify(execFile);

export type ContainerEngine = 'podman' | 'docker';

/** What `<engine> info` said, once per process. */
const hostInfos = new Map<ContainerEngine, Promise<{ rootless: boolean; cgroupsVersion: string }>>();

/** The processes (and runtimes) whose containers a sentinel watches already. */
const sentinels = new Set<string>();

/** How long a stopped executor's runtime client may outlive the kills of its container before it is killed too. */
export const CLIENT_KILL_GRACE_MS = 5000;
/** Between kills of a container that has not started yet. */
const KILL_RETRY_MS = 50;

/** Labels every container a local stack starts, with the stack's process id, to clean up after a kill. */
export const STACK_LABEL = 'tes.local.stack';

/**
 * The task's uid block: the container's user onto the block's first uid (where staging writes as),
 * every other container uid (the image's root and owners) onto the rest, one to one.
 */
function idMaps(flag: '--uidmap' | '--gidmap', inside: number, host: number): string[] {
  const maps = [`${flag}=${inside}:${host}:1`];
  if (inside > 0) maps.unshift(`${flag}=0:${host + 1}:${inside}`);
  if (inside + 1 < TASK_UID_BLOCK) maps.push(`${flag}=${inside + 1}:${host + inside + 1}:${TASK_UID_BLOCK - inside - 1}`);
  return maps;
}

/**
 * A path in a `--mount` option, where `,` would start another option: admission refuses such task
 * paths, and a task stored before that rule existed fails here rather than reaching the runtime.
 */
function mountPath(path: string): string {
  if (/[,"]/.test(path)) throw new Error(`${JSON.stringify(path)} cannot be mounted: it holds ',' or '"'`);
  return path;
}

function assertValue(value: string): string {
  if (value.includes('\u0000')) throw new Error('a container argument holds a NUL character');
  return value;
}

/** How the container's user relates to host users. */
export type UserMapping = 'per-task' | 'keep-id' | 'none';

/** `<engine> run ...` for a spec: every hardening flag and limit, then `--`, the image and argv. */
export function containerRunArgs(
  engine: ContainerEngine,
  spec: SandboxSpec,
  mapping: UserMapping,
  stackId: string,
  options: { seccompProfile?: string; cgroupLimits?: boolean; cidFile?: string } = {},
): string[] {
  const { seccompProfile, cgroupLimits = true } = options;
  if (spec.image === undefined) throw new Error('a container needs an image');
  if (spec.network) throw new Error('executors never get a network');
  const [entryPoint, ...command] = spec.argv;
  const { limits } = spec;
  const args = [
    // Missing only if removed since prepare saw it (it remembers an image for a while): then pulled here.
    'run', `--name=${spec.name}`, `--label=${STACK_LABEL}=${stackId}`, ...(options.cidFile === undefined ? [] : [`--cidfile=${options.cidFile}`]), '--pull=missing', '--log-driver=none',
    '--read-only', ...(engine === 'podman' ? ['--read-only-tmpfs=false'] : []),
    `--user=${spec.uid}:${spec.gid}`,
    '--cap-drop=ALL', '--security-opt=no-new-privileges', ...(seccompProfile === undefined ? [] : [`--security-opt=seccomp=${seccompProfile}`]), '--network=none', '--init',
    `--shm-size=${limits.shmBytes}b`,
  ];
  if (limits.oomScoreAdj !== undefined) args.push(`--oom-score-adj=${limits.oomScoreAdj}`);
  if (cgroupLimits) args.push(`--memory=${limits.memoryBytes}b`, `--memory-swap=${limits.memoryBytes}b`, `--cpus=${limits.cpus}`, `--pids-limit=${limits.pids}`);
  if (mapping === 'per-task') args.push(...idMaps('--uidmap', spec.uid, spec.hostId), ...idMaps('--gidmap', spec.gid, spec.hostId));
  if (mapping === 'keep-id') args.push(`--userns=keep-id:uid=${spec.uid},gid=${spec.gid}`);
  for (const t of spec.tmpfs) args.push(`--tmpfs=${t.path}:rw,nosuid,nodev,size=${t.bytes},mode=1777`);
  for (const bind of spec.binds) args.push(`--mount=type=bind,source=${mountPath(bind.host)},destination=${mountPath(bind.path)}`);
  for (const file of spec.files) args.push(`--mount=type=bind,source=${mountPath(file.host)},destination=${mountPath(file.path)},readonly`);
  if (spec.workdir !== undefined) args.push(`--workdir=${spec.workdir}`);
  for (const [name, value] of Object.entries(spec.env)) args.push(`--env=${name}=${value}`);
  // Podman reads an entry point that starts with '[' as JSON; a JSON array is always one program.
  args.push(`--entrypoint=${engine === 'podman' ? JSON.stringify([entryPoint]) : (entryPoint as string)}`);
  args.push('--', qualifiedImage(spec.image), ...command);
  return args.map(assertValue);
}

const PODMAN_SECCOMP = '/usr/share/containers/seccomp.json';
const CLONE_NEWUSER = 0x10000000;
const ENOSYS = 38;

interface SeccompRule {
  names: string[];
  action: string;
  args?: { index: number; value: number; valueTwo: number; op: string }[];
  includes?: { arches?: string[] };
  excludes?: { arches?: string[] };
  errnoRet?: number;
}
interface SeccompProfile {
  syscalls: SeccompRule[];
}

/**
 * A seccomp profile that allows clone and unshare only without CLONE_NEWUSER (the flags are
 * clone's first argument, its second on s390), and answers clone3, whose flags seccomp cannot read,
 * with ENOSYS so that the C library falls back to clone.
 */
export function withoutUserNamespaces(profile: SeccompProfile): SeccompProfile {
  const guarded = ['clone', 'clone3', 'unshare'];
  const syscalls = profile.syscalls.map((rule) => (rule.action === 'SCMP_ACT_ALLOW' ? { ...rule, names: rule.names.filter((n) => !guarded.includes(n)) } : rule)).filter((rule) => rule.names.length > 0);
  const noNewUser = (index: number) => [{ index, value: CLONE_NEWUSER, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }];
  syscalls.push(
    { names: ['unshare'], action: 'SCMP_ACT_ALLOW', args: noNewUser(0) },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: noNewUser(0), excludes: { arches: ['s390', 's390x'] } },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: noNewUser(1), includes: { arches: ['s390', 's390x'] } },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
  );
  return { ...profile, syscalls };
}

/** Where Podman and Docker put a container's cgroup, cgroup v1 (per controller) and v2 (unified). */
function cgroupDirectories(id: string): string[] {
  const names = [`libpod_parent/libpod-${id}`, `machine.slice/libpod-${id}.scope`, `docker/${id}`, `system.slice/docker-${id}.scope`];
  return ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/memory', '/sys/fs/cgroup'].flatMap((root) => names.map((name) => join(root, name)));
}

async function counter(file: string, key: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const match = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]);
}

interface CgroupCounters {
  pidsRefused?: number;
  oomKills?: number;
}

const WATCH_MS = 100;
/**
 * How long an image prepare found stays known without asking the runtime again (each question is a
 * process of tens of milliseconds). Should it be removed meanwhile, the run pulls it (`--pull=missing`).
 */
export const IMAGE_KNOWN_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counters only grow: keeps the highest seen of each, and whether one was ever read. */
function addCounters(into: CgroupCounters, now: CgroupCounters): void {
  if (now.pidsRefused !== undefined) into.pidsRefused = Math.max(into.pidsRefused ?? 0, now.pidsRefused);
  if (now.oomKills !== undefined) into.oomKills = Math.max(into.oomKills ?? 0, now.oomKills);
}

/** Those of a container's possible cgroup directories that exist now. */
async function existingCgroups(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of cgroupDirectories(id)) if (await stat(dir).then(() => true, () => false)) found.push(dir);
  return found;
}

/** What the kernel refused a container: forks past pids.max, processes killed past its memory. */
async function cgroupCounters(dirs: readonly string[]): Promise<CgroupCounters> {
  const found: CgroupCounters = {};
  for (const dir of dirs) {
    const pids = await counter(join(dir, 'pids.events'), 'max');
    if (pids !== undefined) found.pidsRefused = Math.max(found.pidsRefused ?? 0, pids);
    const oom = (await counter(join(dir, 'memory.oom_control'), 'oom_kill')) ?? (await counter(join(dir, 'memory.events'), 'oom_kill'));
    if (oom !== undefined) found.oomKills = Math.max(found.oomKills ?? 0, oom);
  }
  return found;
}

/** Cgroups the runtime left behind once the container is gone (cgroup v1 with cgroupfs keeps them). */
async function removeCgroups(id: string): Promise<void> {
  const roots = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  const dirs = [...cgroupDirectories(id), ...roots.flatMap((c) => [`/sys/fs/cgroup/${c}/libpod_parent/libpod-${id}`])];
  for (const dir of new Set(dirs)) await rmdir(dir).catch(() => undefined);
}

function firstLine(text: string): string {
  return (text.trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '').trim();
}

/** How long the sentinel waits for a killed stack's runtime clients to end before it kills them. */
const SENTINEL_PATIENCE_SECONDS = 120;

/**
 * What the sentinel runs: once the process `stackId` is gone, it sweeps the containers labelled as
 * that process's, round after round while any runtime client the stack started is still there:
 * each round kills the running ones and removes the ended ones, and leaves one still being created
 * to its client (removing it then races the client and leaves the runtime's half-made container,
 * its init process waiting to be started, with no record to remove it by); the next round finds it
 * running. Once no client is left, or past `patienceSeconds` (when the clients left are killed), it
 * kills and removes whatever is left.
 */
export function sentinelScript(kind: ContainerEngine, stackId: string, patienceSeconds = SENTINEL_PATIENCE_SECONDS): string {
  if (!/^\d+$/.test(stackId)) throw new Error(`a stack id is a process id, not ${JSON.stringify(stackId)}`);
  const label = `${STACK_LABEL}=${stackId}`;
  const rounds = Math.max(1, Math.ceil(patienceSeconds * 2));
  return [
    `while kill -0 ${stackId} 2>/dev/null; do sleep 0.5; done`,
    // The flag is matched in two halves: this script's own command line must not match it.
    `flag='--label=${STACK_LABEL}'`,
    `clients() { for p in /proc/[0-9]*; do case " $(tr '\\0' ' ' < $p/cmdline 2>/dev/null)" in *" $flag=${stackId} "*) echo \${p#/proc/};; esac; done; }`,
    // sweep [final]: kill what runs, remove what ended; with final, also what is still being created.
    `sweep() { ${kind} ps --all --filter label=${label} --format '{{.ID}} {{.State}}' 2>/dev/null | while read -r id state; do case "$state" in`,
    `  running|paused|stopping) ${kind} kill "$id" >/dev/null 2>&1; [ "$1" = final ] && ${kind} rm --force "$id" >/dev/null 2>&1;;`,
    `  created|configured|initialized) [ "$1" = final ] && ${kind} rm --force "$id" >/dev/null 2>&1;;`,
    `  *) ${kind} rm --force "$id" >/dev/null 2>&1;;`,
    `esac; done; }`,
    `round=0`,
    `while [ -n "$(clients)" ] && [ $round -lt ${rounds} ]; do sweep; round=$((round + 1)); sleep 0.5; done`,
    `for pid in $(clients); do kill -9 $pid 2>/dev/null; done`,
    `sweep final`,
  ].join('\n');
}

export class ContainerSandbox implements Sandbox {
  readonly lacks: readonly string[];
  private readonly mapping: UserMapping;
  /** Pulls in progress, so tasks that start together pull an image once. */
  private readonly pulls = new Map<string, Promise<Prepared>>();
  /** When each image was last found or pulled. */
  private readonly known = new Map<string, number>();
  /** Containers being killed (a cancel and a timeout may ask at once). */
  private readonly killing = new Set<string>();
  /** What the kernel refused each running container so far (its cgroup goes when it stops). */
  private readonly watched = new Map<string, { counters: CgroupCounters; done: Promise<void>; id: string }>();

  private seccompProfile: string | undefined;
  private workDir: string | undefined;

  /** Whether the runtime can set cgroup limits here (rootless Podman on cgroup v1 cannot). */
  private readonly cgroupLimits: boolean;

  constructor(
    readonly kind: ContainerEngine,
    host: { rootless: boolean; cgroupsVersion: string } = { rootless: !runningAsRoot, cgroupsVersion: 'v2' },
    private readonly stackId: string = String(process.pid),
  ) {
    this.mapping = kind === 'docker' ? 'none' : runningAsRoot ? 'per-task' : 'keep-id';
    this.cgroupLimits = !(kind === 'podman' && host.rootless && host.cgroupsVersion === 'v1');
    this.lacks = [
      ...(kind === 'docker' ? ['a host uid per task (every executor is host uid 1000:1000 under Docker)'] : []),
      ...(this.cgroupLimits ? [] : ['memory, CPU and process limits (rootless Podman cannot set them on cgroup v1; cgroup v2 with delegation can)']),
    ];
  }


  /**
   * Where the runtime's helpers run and this runtime's files go (the stack's scratch directory).
   * Podman's default seccomp profile lets a container make user namespaces (for nested rootless
   * containers); an executor must not, so it gets that profile less that (Docker's default already
   * refuses them). Written into `dir`; without Podman's profile on disk, the runtime default stays.
   */
  async useWorkDirectory(dir: string): Promise<void> {
    // The runtime's monitor (conmon) leaves files such as `oom` in its working directory: keep them in ours.
    this.workDir = dir;
    if (this.kind !== 'podman') return;
    const base = await readFile(PODMAN_SECCOMP, 'utf8').catch(() => undefined);
    if (base === undefined) {
      (this.lacks as string[]).push(`a seccomp profile refusing nested user namespaces (${PODMAN_SECCOMP} is missing, so Podman's built-in default applies)`);
      return;
    }
    const file = join(dir, 'seccomp.json');
    await writeFile(file, JSON.stringify(withoutUserNamespaces(JSON.parse(base) as SeccompProfile)), { mode: 0o644 });
    this.seccompProfile = file;
  }

  /** undefined when the runtime answers here; otherwise why not. */
  static async detect(engine: ContainerEngine): Promise<string | undefined> {
    try {
      await ContainerSandbox.hostInfo(engine);
      return undefined;
    } catch (error) {
      const detail = firstLine((error as { stderr?: string }).stderr ?? '') || (error as Error).message;
      return engine === 'podman' ? `podman cannot run here (${detail})` : `no Docker daemon is reachable (${detail})`;
    }
  }

  /** What this host's runtime is: rootless or not, and its cgroup version (asked once per process). */
  static hostInfo(engine: ContainerEngine): Promise<{ rootless: boolean; cgroupsVersion: string }> {
    let info = hostInfos.get(engine);
    if (info === undefined) {
      const format = engine === 'podman' ? '{{.Host.Security.Rootless}} {{.Host.CgroupsVersion}}' : '{{.ServerVersion}}';
      info = run(engine, ['info', '--format', format], { timeout: 20_000, env: launcherEnvironment() }).then(({ stdout }) => {
        if (engine === 'docker') return { rootless: false, cgroupsVersion: 'v2' };
        const [rootless, version] = stdout.trim().split(' ');
        return { rootless: rootless === 'true', cgroupsVersion: version ?? 'v2' };
      });
      info.catch(() => hostInfos.delete(engine));
      hostInfos.set(engine, info);
    }
    return info;
  }

  private async exec(args: string[], timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
    return run(this.kind, args, { timeout, env: launcherEnvironment(), maxBuffer: 16 * 1024 * 1024, ...(this.workDir === undefined ? {} : { cwd: this.workDir }) });
  }

  async prepare(spec: SandboxSpec): Promise<Prepared> {
    const image = qualifiedImage(spec.image as string);
    if (Date.now() - (this.known.get(image) ?? -Infinity) < IMAGE_KNOWN_MS) return {};
    const exists = await this.exec(['image', 'inspect', '--format', '{{.Id}}', '--', image]).then(
      () => true,
      () => false,
    );
    if (exists) {
      this.known.set(image, Date.now());
      return {};
    }
    let pull = this.pulls.get(image);
    if (pull === undefined) {
      pull = (async () => {
        const startedAt = new Date().toISOString();
        try {
          await this.exec(['pull', '--', image], 30 * 60_000);
          this.known.set(image, Date.now());
        } catch (error) {
          const answer = firstLine((error as { stderr?: string }).stderr ?? '') || (error as Error).message;
          throw new ImageUnavailableError(`the image ${image} could not be pulled: ${answer}`);
        }
        return { pull: { startedAt, stoppedAt: new Date().toISOString() } };
      })().finally(() => this.pulls.delete(image));
      this.pulls.set(image, pull);
    }
    return pull;
  }

  spawn(spec: SandboxSpec, stdio: { stdout: number; stderr: number }): ChildProcess {
    this.ensureSentinel();
    // The runtime writes the container's id here as it creates it: the cgroup is found without asking it again.
    const cidFile = this.workDir === undefined ? undefined : join(this.workDir, `${spec.name}.cid`);
    const options = { cgroupLimits: this.cgroupLimits, ...(this.seccompProfile === undefined ? {} : { seccompProfile: this.seccompProfile }), ...(cidFile === undefined ? {} : { cidFile }) };
    const child = spawn(this.kind, containerRunArgs(this.kind, spec, this.mapping, this.stackId, options), {
      env: launcherEnvironment(),
      stdio: ['ignore', stdio.stdout, stdio.stderr],
      detached: true,
      ...(this.workDir === undefined ? {} : { cwd: this.workDir }),
    });
    this.watch(spec.name, child, cidFile);
    return child;
  }

  /**
   * Containers outlive a killed stack (the runtime's monitor, not the stack, is their parent): a
   * small watcher in a session of its own removes this process's containers once it is gone.
   */
  private ensureSentinel(): void {
    if (sentinels.has(`${this.kind} ${this.stackId}`)) return;
    sentinels.add(`${this.kind} ${this.stackId}`);
    const script = sentinelScript(this.kind, this.stackId);
    const sentinel = spawn('/bin/sh', ['-c', script], { env: launcherEnvironment(), stdio: 'ignore', detached: true });
    sentinel.on('error', () => undefined);
    sentinel.unref();
  }

  /**
   * Reads the container's cgroup counters while it runs (forks refused past pids.max, processes the
   * OOM killer took): the runtime removes the cgroup when the container stops, with them.
   */
  private watch(name: string, child: ChildProcess, cidFile: string | undefined): void {
    let exited = false;
    let ended: () => void = () => undefined;
    const end = new Promise<void>((resolve) => (ended = resolve));
    const stop = (): void => {
      exited = true;
      ended();
    };
    child.once('exit', stop);
    child.once('error', stop);
    // A pause between reads that ends as soon as the executor does.
    const pause = (): Promise<unknown> => Promise.race([sleep(WATCH_MS), end]);
    const counters: CgroupCounters = {};
    const entry = { counters, done: Promise.resolve(), id: '' };
    entry.done = (async () => {
      let id = '';
      while (!exited && id === '') {
        id = entry.id =
          cidFile === undefined
            ? await this.exec(['inspect', '--format', '{{.Id}}', '--', name], 10_000).then((r) => r.stdout.trim(), () => '')
            : await readFile(cidFile, 'utf8').then((text) => text.trim(), () => '');
        if (id === '') await pause();
      }
      if (cidFile !== undefined) {
        // An executor that ended before its id was read still left it here.
        if (id === '') entry.id = await readFile(cidFile, 'utf8').then((text) => text.trim(), () => '');
        await rm(cidFile, { force: true });
      }
      // Where its cgroup is, found once (a few directories, not the dozen places a runtime may put one).
      let dirs: string[] = [];
      while (!exited && id !== '') {
        if (dirs.length === 0) dirs = await existingCgroups(id);
        addCounters(counters, await cgroupCounters(dirs));
        await pause();
      }
    })();
    this.watched.set(name, entry);
  }

  volumeOwner(spec: Pick<SandboxSpec, 'hostId' | 'uid' | 'gid'>): { uid: number; gid: number } | undefined {
    if (this.mapping === 'per-task') return { uid: spec.hostId, gid: spec.hostId };
    if (this.mapping === 'none') return { uid: spec.uid, gid: spec.gid };
    // Rootless keep-id: the server's own user is the container's user.
    return undefined;
  }

  /**
   * Stops the container itself: killing the client would leave it running. The client is not killed
   * with it: killed while the runtime makes the container, it leaves a half-made one behind (its init
   * process waiting to be started) that the runtime no longer knows and no `rm` removes. The kill is
   * sent again until the container has started (a kill finds nothing to kill before that) and its
   * client has ended; a client still there after CLIENT_KILL_GRACE_MS (an image still being pulled,
   * with no container yet) is killed.
   */
  kill(child: ChildProcess, spec: SandboxSpec): void {
    if (this.killing.has(spec.name)) return;
    this.killing.add(spec.name);
    const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
    const deadline = Date.now() + CLIENT_KILL_GRACE_MS;
    const attempt = (): void => {
      if (ended()) {
        this.killing.delete(spec.name);
        return;
      }
      if (Date.now() >= deadline) {
        killGroup(child);
        this.killing.delete(spec.name);
        return;
      }
      const killer = spawn(this.kind, ['kill', '--', spec.name], { stdio: 'ignore', env: launcherEnvironment() });
      let next = false;
      const again = (): void => {
        if (next) return;
        next = true;
        setTimeout(attempt, KILL_RETRY_MS).unref();
      };
      killer.on('error', again).on('exit', again);
    };
    attempt();
  }

  async finish(spec: SandboxSpec, exitCode: number): Promise<Finished> {
    const watched = this.watched.get(spec.name);
    this.watched.delete(spec.name);
    await watched?.done;
    // The runtime is asked (one more command, tens of milliseconds) only about an executor a signal
    // ended, or one whose id the watcher never saw: an OOM kill of any other process shows in the counters.
    let id = watched?.id ?? '';
    let oomKilled = '';
    if (exitCode >= 128 || id === '') {
      [id = '', oomKilled = ''] = await this.exec(['inspect', '--format', '{{.Id}} {{.State.OOMKilled}}', '--', spec.name]).then(
        (r) => r.stdout.trim().split(' '),
        () => [],
      );
    }
    const counters = { ...watched?.counters };
    if (id !== '') addCounters(counters, await cgroupCounters(await existingCgroups(id)));
    // The container is removed (another runtime process) after the answer: the run waits for it, the answer does not.
    const removed = this.exec(['rm', '--force', '--', spec.name])
      .catch(() => undefined)
      .then(() => (id === '' ? undefined : removeCgroups(id)));
    const mib = Math.round(spec.limits.memoryBytes / 1024 / 1024);
    const reason = (() => {
      if (oomKilled === 'true' || (counters.oomKills ?? 0) > 0) return `OutOfMemoryError: container killed due to memory usage (limit ${mib} MiB)`;
      if ((counters.pidsRefused ?? 0) > 0) {
        return `ProcessLimitExceeded: the executor tried to run more than its ${spec.limits.pids} processes and threads at once (${counters.pidsRefused} refused)`;
      }
      // Where the runtime's cgroup is gone before it can be read, a SIGKILL that nobody here sent is the kernel's OOM killer.
      if (exitCode === 137 && counters.oomKills === undefined) return `OutOfMemoryError: the executor was killed by SIGKILL, which is how its memory limit (${mib} MiB) is enforced`;
      return undefined;
    })();
    return reason === undefined ? { removed } : { reason, removed };
  }

  /** Removes the containers of local stacks that are no longer running (killed before they could). */
  async removeOrphans(alive: (pid: number) => boolean): Promise<string[]> {
    const listed = await this.exec(['ps', '--all', '--filter', `label=${STACK_LABEL}`, '--format', `{{.Names}} {{index .Labels "${STACK_LABEL}"}}`]).catch(() => ({ stdout: '' }));
    const orphans = listed.stdout
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter(([name, pid]) => name !== undefined && name !== '' && !alive(Number(pid)))
      .map(([name]) => name as string);
    if (orphans.length > 0) await this.exec(['rm', '--force', '--', ...orphans]).catch(() => undefined);
    return orphans;
  }
}
