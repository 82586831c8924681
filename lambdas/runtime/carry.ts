/**
 * Carrying a task's volumes from one executor to the next, one tar archive per mount. Only regular
 * files (hard links among them) and directories travel; symbolic links and anything else are left
 * out, so restoring an archive can never write outside the volumes.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { create, extract } from 'tar';
import { checkSha256, download, sha256Of, upload } from './transfer.js';
import type { VolumeFs } from './volume-fs.js';

/**
 * What is unpacked: files, directories, and hard links (tar stores a file's second name as a link to
 * its first, which must lie in the same archive: tar refuses absolute and `..` link targets).
 */
const KEPT_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'Link']);

/**
 * Packs each mount into an archive in `scratchDir` and PUTs it to the URL in the same position;
 * returns each archive's SHA-256, which the broker seals so the next stage-in can check it.
 */
export async function saveVolumes(mounts: readonly string[], fs: VolumeFs, scratchDir: string, urls: readonly string[]): Promise<string[]> {
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  const hashes: string[] = [];
  for (const [index, mount] of mounts.entries()) {
    const archive = join(scratchDir, `carry-${index}.tar`);
    try {
      await create(
        {
          file: archive,
          cwd: await fs.resolve(mount),
          portable: true,
          follow: false,
          filter: (_path, stat) => !('type' in stat) && (stat.isFile() || stat.isDirectory()),
        },
        ['.'],
      );
      hashes.push(await sha256Of(archive));
      await upload(urls[index] as string, archive);
    } finally {
      await rm(archive, { force: true });
    }
  }
  return hashes;
}

/** GETs each mount's archive, checks it is the one saved (its SHA-256), and unpacks it into the (fresh) mount. */
export async function restoreVolumes(
  mounts: readonly string[],
  fs: VolumeFs,
  scratchDir: string,
  urls: readonly string[],
  hashes: readonly string[],
): Promise<void> {
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  for (const [index, mount] of mounts.entries()) {
    const archive = join(scratchDir, `restore-${index}.tar`);
    try {
      await download(urls[index] as string, archive, 0o600);
      await checkSha256(archive, hashes[index] as string, `the archive of ${mount}`);
      await extract({
        file: archive,
        cwd: await fs.mkdirs(mount),
        preservePaths: false,
        filter: (_path, entry) => KEPT_TYPES.has((entry as { type?: string }).type ?? ''),
      });
    } finally {
      await rm(archive, { force: true });
    }
  }
}
