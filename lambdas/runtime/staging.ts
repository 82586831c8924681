/**
 * Stage-in and stage-out: the trusted code around every executor. Stage-in creates the task's
 * directories and puts its inputs in place; stage-out uploads its outputs (FILE, DIRECTORY, and
 * wildcards with path_prefix) after the last executor that runs, also after a failed one, because
 * clients read exit-code and log files that way. Both only ever touch paths inside the task's
 * volumes, never through a symbolic link, and they fetch and upload only through the URLs the
 * staging broker grants.
 */
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { INLINE_OUTPUT_BYTES, OUTPUT_PAGE_BYTES, OUTPUT_PAGE_FILES, type OutputPage } from '../domain/output-list.js';
import type { StageReport, StagingBroker, StagingPlan, UploadedFile, UploadRequest } from '../ports/staging.js';
import { restoreVolumes, saveVolumes } from './carry.js';
import { globToRegExp, hasWildcard } from './glob.js';
import { parseAllowance, type AddressAllowance } from './public-fetch.js';
import { checkSha256, download, upload } from './transfer.js';
import type { VolumeFs } from './volume-fs.js';

export interface StageContext {
  plan: StagingPlan;
  fs: VolumeFs;
  broker: StagingBroker;
  token: string;
  /** Host uid:gid that owns what stage-in creates (the executor's, as the host sees it). */
  owner?: { uid: number; gid: number };
  /** Where archives of the volumes are built and unpacked (not visible to the executor). */
  scratchDir: string;
  /**
   * The task's disk, in bytes: no input, output set or carry archive may be larger. A sparse file
   * fills little of a disk but its full size of an upload or an archive.
   */
  maxBytes?: number;
  /** Non-public hosts and networks the operator lets http(s) inputs reach (none by default). */
  httpAllowance?: AddressAllowance;
}

const NO_ALLOWANCE = parseAllowance('');

/** How many files one request for upload URLs names (the broker refuses more). */
export const UPLOAD_BATCH = 500;
/** How many uploads run at once. */
const UPLOAD_CONCURRENCY = 8;

/** The URL a found file is uploaded to: its output's, or below it. */
function outputUrl(plan: StagingPlan, file: FoundFile): string {
  const url = plan.outputs.find((o) => o.index === file.output)?.url as string;
  return file.relative === '' ? url : `${url.replace(/\/+$/, '')}/${file.relative}`;
}

function parent(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

function message(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause === undefined ? e.message : `${e.message} (${cause})`;
}

async function chownTree(path: string, owner: { uid: number; gid: number }): Promise<void> {
  const info = await lstat(path);
  await lchown(path, owner.uid, owner.gid);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), owner);
}

export async function stageIn(ctx: StageContext): Promise<StageReport> {
  const { plan, fs } = ctx;
  const warnings: string[] = [];
  try {
    for (const dir of plan.mounts) await fs.mkdirs(dir);
    if (plan.carry.restore !== undefined) {
      try {
        await restoreVolumes(plan.mounts, fs, ctx.scratchDir, plan.carry.restore, plan.carry.restoreSha256 ?? []);
      } catch (error) {
        return { ok: false, error: `the volumes executor ${plan.executorIndex - 1} left could not be restored: ${message(error)}`, warnings };
      }
    }
    for (const dir of plan.directories) await fs.mkdirs(dir);
    for (const input of plan.inputs) {
      try {
        if (input.type === 'DIRECTORY') {
          await fs.mkdirs(input.path);
          if (input.files.length === 0) warnings.push(`inputs[${input.index}] (${input.source}): the directory is empty`);
        }
        for (const file of input.files) {
          const target = file.relative === '' ? input.path : `${input.path.replace(/\/+$/, '')}/${file.relative}`;
          await fs.mkdirs(parent(target));
          const at = await fs.resolve(target);
          await download(file.url, at, 0o644, ctx.maxBytes, file.external === true ? { allowance: ctx.httpAllowance ?? NO_ALLOWANCE } : undefined);
          if (file.sha256 !== undefined) await checkSha256(at, file.sha256, 'the content');
        }
      } catch (error) {
        return { ok: false, error: `inputs[${input.index}] (${input.source}) could not be staged: ${message(error)}`, warnings };
      }
    }
    if (ctx.owner !== undefined) for (const mount of plan.mounts) await chownTree(await fs.resolve(mount), ctx.owner);
    return { ok: true, warnings };
  } catch (error) {
    return { ok: false, error: `stage-in failed: ${message(error)}`, warnings };
  }
}

interface FoundFile extends UploadRequest {
  hostPath: string;
  containerPath: string;
}

/** Regular files below `dir` (container path), skipping symbolic links with a warning. */
async function walk(fs: VolumeFs, dir: string, warnings: string[]): Promise<{ containerPath: string; hostPath: string }[]> {
  const found: { containerPath: string; hostPath: string }[] = [];
  const host = await fs.resolve(dir);
  const entries = await readdir(host, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const containerPath = `${dir.replace(/\/+$/, '')}/${entry.name}`;
    if (entry.isSymbolicLink()) warnings.push(`${containerPath} is a symbolic link; not uploaded`);
    else if (entry.isDirectory()) found.push(...(await walk(fs, containerPath, warnings)));
    else if (entry.isFile()) found.push({ containerPath, hostPath: join(host, entry.name) });
  }
  return found;
}

function literalDirectory(path: string): string {
  const literal: string[] = [];
  for (const segment of path.split('/').slice(0, -1)) {
    if (hasWildcard(segment)) break;
    literal.push(segment);
  }
  return literal.join('/') || '/';
}

/** Whether the run that just ended is the task's last: the last executor, or a failure that stops it. */
export function isFinalRun(plan: StagingPlan, exitCode: number): boolean {
  return plan.executorIndex === plan.executorCount - 1 || (exitCode !== 0 && !plan.ignoreError);
}

export async function stageOut(ctx: StageContext, exitCode: number): Promise<StageReport> {
  const { plan, fs } = ctx;
  const warnings: string[] = [];
  if (!isFinalRun(plan, exitCode)) {
    if (plan.carry.save === undefined) return { ok: true, warnings, outputs: [], exitCode };
    try {
      let total = 0;
      for (const mount of plan.mounts) for (const file of await walk(fs, mount, [])) total += (await lstat(file.hostPath)).size;
      if (ctx.maxBytes !== undefined && total > ctx.maxBytes) {
        return { ok: false, error: `the volumes hold files of ${total} bytes, more than the task's disk (${ctx.maxBytes} bytes; a sparse file?): nothing was saved for executor ${plan.executorIndex + 1}`, warnings, exitCode };
      }
      const carry = await saveVolumes(plan.mounts, fs, ctx.scratchDir, plan.carry.save);
      return { ok: true, warnings, outputs: [], exitCode, carry };
    } catch (error) {
      return { ok: false, error: `the volumes could not be saved for executor ${plan.executorIndex + 1}: ${message(error)}`, warnings, exitCode };
    }
  }
  const missing: string[] = [];
  const files: FoundFile[] = [];
  try {
    for (const output of plan.outputs) {
      if (hasWildcard(output.path)) {
        const pattern = globToRegExp(output.path);
        const prefix = (output.pathPrefix ?? '').replace(/\/+$/, '');
        const matches = (await walk(fs, literalDirectory(output.path), warnings)).filter((f) => pattern.test(f.containerPath));
        if (matches.length === 0) warnings.push(`outputs[${output.index}] (${output.path}): no file matches`);
        for (const match of matches) files.push({ output: output.index, relative: match.containerPath.slice(prefix.length).replace(/^\/+/, ''), ...match });
      } else if (output.type === 'DIRECTORY') {
        const host = await fs.resolve(output.path);
        const info = await lstat(host).catch(() => undefined);
        if (info === undefined || !info.isDirectory()) {
          missing.push(`outputs[${output.index}] (${output.path}): no such directory`);
          continue;
        }
        const found = await walk(fs, output.path, warnings);
        if (found.length === 0) warnings.push(`outputs[${output.index}] (${output.path}): the directory is empty`);
        const base = output.path.replace(/\/+$/, '');
        for (const f of found) files.push({ output: output.index, relative: f.containerPath.slice(base.length + 1), ...f });
      } else {
        const host = await fs.resolve(output.path);
        const info = await lstat(host).catch(() => undefined);
        if (info === undefined) missing.push(`outputs[${output.index}] (${output.path}): no such file`);
        else if (!info.isFile()) missing.push(`outputs[${output.index}] (${output.path}): not a regular file`);
        else files.push({ output: output.index, relative: '', hostPath: host, containerPath: output.path });
      }
    }
    let total = 0;
    let listBytes = 0;
    for (const file of files) {
      const size = (await lstat(file.hostPath)).size;
      total += size;
      listBytes += JSON.stringify({ url: outputUrl(plan, file), path: file.containerPath, size_bytes: String(size) }).length + 1;
    }
    if (ctx.maxBytes !== undefined && total > ctx.maxBytes) {
      return { ok: false, error: `the outputs add up to ${total} bytes, more than the task's disk (${ctx.maxBytes} bytes; a sparse file?): nothing was uploaded`, warnings, outputs: [], exitCode };
    }
    // A short list goes in the report; a long one to the broker page by page, in the order found.
    const paged = listBytes > INLINE_OUTPUT_BYTES;
    const inline: UploadedFile[] = [];
    const pages: OutputPage[] = [];
    let pending: UploadedFile[] = [];
    // A page ends at OUTPUT_PAGE_FILES files or OUTPUT_PAGE_BYTES, whichever comes first.
    const pageLength = (): number | undefined => {
      let size = 0;
      for (const [i, file] of pending.entries()) {
        size += JSON.stringify(file).length + 1;
        if (i >= OUTPUT_PAGE_FILES || (size > OUTPUT_PAGE_BYTES && i > 0)) return i;
      }
      return undefined;
    };
    const flush = async (all: boolean): Promise<void> => {
      for (let length = pageLength(); length !== undefined || (all && pending.length > 0); length = pageLength()) {
        const cut = length ?? pending.length;
        pages.push(await ctx.broker.outputPage(ctx.token, pages.length, pending.slice(0, cut)));
        pending = pending.slice(cut);
      }
    };
    let count = 0;
    let bytes = 0;
    let failure: string | undefined;
    for (let start = 0; start < files.length && failure === undefined; start += UPLOAD_BATCH) {
      const batch = files.slice(start, start + UPLOAD_BATCH);
      const done: (UploadedFile | undefined)[] = [];
      const targets = await ctx.broker.uploadTargets(ctx.token, batch.map(({ output, relative }) => ({ output, relative })));
      // A few uploads at once: one at a time, many small files take as many round trips to S3.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (failure === undefined && next < batch.length) {
          const i = next;
          next += 1;
          const file = batch[i] as FoundFile;
          const url = outputUrl(plan, file);
          try {
            const size = await upload(targets[i] as string, file.hostPath);
            count += 1;
            bytes += size;
            done[i] = { url, path: file.containerPath, size_bytes: String(size) };
          } catch (error) {
            failure ??= `outputs[${file.output}] (${file.containerPath} → ${url}) could not be uploaded: ${message(error)}`;
          }
        }
      };
      await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
      // In the order the files were found, whatever order their uploads finished in.
      const ordered = done.filter((u): u is UploadedFile => u !== undefined);
      if (paged) {
        pending.push(...ordered);
        await flush(false);
      } else inline.push(...ordered);
    }
    // What was uploaded is listed even when an upload failed.
    await flush(true);
    const listed = paged ? { outputs: [], outputPages: pages } : { outputs: inline };
    if (failure !== undefined) return { ok: false, error: failure, warnings, ...listed, outputCount: count, outputBytes: bytes, exitCode };
    // A missing output after a failed executor is expected (it stopped early); after a successful
    // one it means the task did not produce what it promised.
    if (missing.length > 0 && exitCode === 0) return { ok: false, error: missing.join('; '), warnings, ...listed, outputCount: count, outputBytes: bytes, exitCode };
    warnings.push(...missing);
    return { ok: true, warnings, ...listed, outputCount: count, outputBytes: bytes, exitCode };
  } catch (error) {
    return { ok: false, error: `stage-out failed: ${message(error)}`, warnings, exitCode };
  }
}
