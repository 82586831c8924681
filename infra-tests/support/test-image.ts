/**
 * The image the tests' tasks run: built offline (no registry is reachable from a test machine) from
 * Debian's statically linked busybox, and imported into each container runtime present. It holds a
 * shell and the usual tools, a passwordless root and a setuid-root copy of busybox: what an attacker's
 * image would bring to try to become root.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BubblewrapSandbox } from '../../lambdas/local/bubblewrap.js';
import { ContainerSandbox, type ContainerEngine } from '../../lambdas/local/container-runtime.js';
import { launcherEnvironment, type RuntimeKind } from '../../lambdas/local/sandbox.js';

const run = promisify(execFile);

/**
 * The test tasks' image: a name no registry serves, so it can only come from this machine. Its tag
 * changes with its content (a store that has an older one builds this one beside it).
 */
export const TEST_IMAGE = 'localhost/tes-test/busybox:2';
/** What the suites' stacks admit (TES_ALLOWED_IMAGE_PREFIXES). */
export const TEST_IMAGE_PREFIXES = 'localhost/tes-test/,registry.invalid/';
/** An image from a registry that does not exist: its pull fails. */
export const MISSING_IMAGE = 'registry.invalid/tes-test/nothing:1';

const BUSYBOX = '/bin/busybox';

async function rootfs(dir: string): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: install Debian's busybox-static to build the test image`);
  for (const d of ['bin', 'etc', 'tmp', 'home', 'proc', 'sys', 'dev']) await mkdir(join(dir, d), { recursive: true });
  await mkdir(join(dir, 'root'), { mode: 0o700 });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  // A setuid-root busybox: su, mount and the rest, as root, were the setuid bit honoured.
  await copyFile(BUSYBOX, join(dir, 'bin', 'suid-busybox'));
  await chmod(join(dir, 'bin', 'suid-busybox'), 0o4755);
  const { stdout } = await run(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n').filter((a) => a !== '' && a !== 'busybox')) await symlink('busybox', join(dir, 'bin', applet));
  // Workflow engines run bash (Nextflow: `bash -o pipefail -c ...`); busybox has no bash applet, but its ash takes those options.
  await writeFile(join(dir, 'bin', 'bash'), '#!/bin/sh\nexec /bin/sh "$@"\n', { mode: 0o755 });
  await writeFile(join(dir, 'etc', 'passwd'), 'root::0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(join(dir, 'etc', 'shadow'), 'root::19000:0:99999:7:::\n', { mode: 0o600 });
}

/**
 * Builds the test image into `engine` unless it is there already; `as` imports it into another
 * user's image store (a rootless runtime's).
 */
export async function ensureTestImage(engine: ContainerEngine, as?: { uid: number; gid: number; env: Record<string, string> }): Promise<void> {
  const env = { ...launcherEnvironment(), ...as?.env };
  const user = as === undefined ? {} : { uid: as.uid, gid: as.gid };
  const there = await run(engine, ['image', 'inspect', '--format', '{{.Id}}', '--', TEST_IMAGE], { env, ...user }).then(
    () => true,
    () => false,
  );
  if (there) return;
  const work = await mkdtemp(join(tmpdir(), 'tes-test-image-'));
  try {
    await rootfs(join(work, 'rootfs'));
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    await chmod(work, 0o755);
    await run(engine, ['import', '--change', 'CMD ["/bin/sh"]', join(work, 'rootfs.tar'), TEST_IMAGE], { env, maxBuffer: 16 * 1024 * 1024, cwd: work, ...user });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The runtimes the security suites run against. TES_TEST_RUNTIMES (for example `podman,bubblewrap`,
 * as CI sets it) names the ones that must be there; without it, every runtime this machine has.
 * A named runtime that cannot run is an error that says why, never a skipped suite.
 */
export async function runtimesUnderTest(): Promise<{ kind: RuntimeKind; problem?: string }[]> {
  const named = (process.env['TES_TEST_RUNTIMES'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '') as RuntimeKind[];
  const candidates: RuntimeKind[] = named.length > 0 ? named : ['podman', 'docker', 'bubblewrap'];
  const found: { kind: RuntimeKind; problem?: string }[] = [];
  for (const kind of candidates) {
    let problem = kind === 'bubblewrap' ? await BubblewrapSandbox.detect() : await ContainerSandbox.detect(kind);
    if (problem === undefined && kind !== 'bubblewrap') problem = await ensureTestImage(kind).then(() => undefined, (error: Error) => `the test image could not be built: ${error.message}`);
    // Without TES_TEST_RUNTIMES, a container runtime that is absent is simply not under test; bubblewrap always is.
    if (problem !== undefined && named.length === 0 && kind !== 'bubblewrap') continue;
    found.push(problem === undefined ? { kind } : { kind, problem });
  }
  return found;
}
