/**
 * Container paths → host paths for staging that runs outside the container (the local runner).
 * Every path must fall inside one of the task's mounts, and no component may be a symbolic link:
 * an executor could have planted one to make trusted staging read or write outside its volumes.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export class PathOutsideVolumesError extends Error {}

export class VolumeFs {
  /** `mounts`: container directory → host directory. */
  constructor(private readonly mounts: ReadonlyMap<string, string>) {}

  /** The mount holding `containerPath`, and the path relative to it. */
  private locate(containerPath: string): { host: string; rest: string[] } {
    let best: string | undefined;
    for (const mount of this.mounts.keys()) {
      if ((containerPath === mount || containerPath.startsWith(`${mount}/`)) && (best === undefined || mount.length > best.length)) best = mount;
    }
    if (best === undefined) throw new PathOutsideVolumesError(`${containerPath} is outside the task's volumes`);
    const rest = containerPath.slice(best.length).split('/').filter((s) => s !== '');
    if (rest.some((s) => s === '..' || s === '.')) throw new PathOutsideVolumesError(`${containerPath} is not normalized`);
    return { host: this.mounts.get(best) as string, rest };
  }

  /** The host path of `containerPath`, refusing any symbolic link on the way (the last part may be missing). */
  async resolve(containerPath: string): Promise<string> {
    const { host, rest } = this.locate(containerPath);
    let current = host;
    for (const segment of rest) {
      current = join(current, segment);
      const info = await lstat(current).catch(() => undefined);
      if (info === undefined) break;
      if (info.isSymbolicLink()) throw new PathOutsideVolumesError(`${containerPath} goes through a symbolic link`);
    }
    return join(host, ...rest);
  }

  /** Creates `containerPath` and its parents inside the volume, refusing symbolic links. */
  async mkdirs(containerPath: string, mode = 0o755): Promise<string> {
    const path = await this.resolve(containerPath);
    await mkdir(path, { recursive: true, mode });
    return path;
  }

  /** The container path of a host path inside the mount of `containerDir`. */
  containerPathOf(containerDir: string, hostPath: string, hostDir: string): string {
    const rel = relative(hostDir, hostPath).split(sep).join('/');
    return rel === '' ? containerDir : `${containerDir.replace(/\/$/, '')}/${rel}`;
  }
}
