/**
 * The local stack's staging broker: the cloud's, plus `file://` URLs and bare paths in the host
 * directories TES_LOCAL_FILE_DIRS allows. Staging runs sandboxed as the task's uid and must not see
 * host directories, so the broker, in the server process, moves the bytes through the service
 * bucket, under the task's own prefix:
 * - a host input is copied, when stage-in trades its ticket, to `tasks/<id>/files/in/<i>[/<file>]`,
 *   and stage-in gets presigned GETs for it, as for an S3 input (its copies go once stage-in reports);
 * - stage-out uploads a host output to `tasks/<id>/files/out/<i>[/<file>]` through presigned PUTs,
 *   and when it reports, the broker writes every uploaded file to its host path, all or none
 *   (local/host-files.ts), or makes the report a failure naming the output and why (SYSTEM_ERROR).
 * Each path is checked against the owner's scopes when it is signed and again on disk.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3StagingBroker, sealReport, StagingRefusedError, type StagingBrokerDeps } from '../adapters/s3-staging-broker.js';
import { fargateSize } from '../domain/fargate.js';
import { CONTROL_CHARACTER, isHostUrl, parseHostUrl } from '../domain/host-path.js';
import { reportKey } from '../domain/output-list.js';
import { allowsPath, type StorageScope } from '../domain/storage-policy.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesInput, TesOutput } from '../domain/tes.js';
import type { InputSource, ReportName, StageReport, StagingSession } from '../ports/staging.js';
import { HostFileError, type HostFiles, type HostWrite } from './host-files.js';

const URL_TTL_SECONDS = 6 * 3600;
const GIB = 1024 ** 3;

/** Where the broker keeps a host input's or output's files in the service bucket, under the task's own prefix. */
export function hostFilesPrefix(taskId: string, direction: 'in' | 'out'): string {
  return `tasks/${taskId}/files/${direction}/`;
}

function hostFileKey(taskId: string, direction: 'in' | 'out', index: number, relative: string): string {
  return `${hostFilesPrefix(taskId, direction)}${index}${relative === '' ? '' : `/${relative}`}`;
}

/** A host input that could not be staged: stage-in's report says so, naming it. */
class HostInputError extends StagingRefusedError {}

function isPrefixed(output: TesOutput): boolean {
  return (output.type ?? 'FILE') === 'DIRECTORY' || output.path_prefix !== undefined || /[*?[]/.test(output.path);
}

export class HostFileStagingBroker extends S3StagingBroker {
  /** What the host inputs of a run being traded may still copy (its task's disk), and their copies one after another. */
  private readonly copying = new Map<string, { left: number; chain: Promise<unknown> }>();
  /** Warnings of host inputs (links and special files skipped), until the run's stage-in reports. */
  private readonly inputWarnings = new Map<string, string[]>();

  constructor(
    deps: StagingBrokerDeps,
    private readonly host: { files: HostFiles; maxDiskGiB?: number | undefined },
  ) {
    super(deps);
  }

  /** The task's disk, as its executor gets it here: no input or output set may be larger. */
  private diskBytes(record: TaskRecord): number {
    const gib = Math.min(fargateSize(record.task.resources, { spotAllowed: false }).ephemeralStorageGiB, this.host.maxDiskGiB ?? Infinity);
    return Math.floor(gib * GIB);
  }

  private presignGet(key: string): Promise<string> {
    return getSignedUrl(this.deps.s3, new GetObjectCommand({ Bucket: this.deps.bucket, Key: key }), { expiresIn: URL_TTL_SECONDS });
  }

  override async session(ticket: string): Promise<StagingSession> {
    const grant = this.deps.tokens.read(ticket, Math.floor(this.deps.clock.now().getTime() / 1000), 'ticket');
    // A run starts afresh (one whose stage-in never reported left its warnings behind).
    this.inputWarnings.delete(`${grant.taskId}/${grant.executorIndex}`);
    try {
      return await super.session(ticket);
    } catch (error) {
      // Stage-in gets only the refusal; its report, which the task's system logs show, names the input and why.
      if (error instanceof HostInputError) {
        const report: StageReport = { ok: false, error: error.message, warnings: this.inputWarnings.get(`${grant.taskId}/${grant.executorIndex}`) ?? [] };
        await this.deps.s3.send(
          new PutObjectCommand({
            Bucket: this.deps.bucket,
            Key: reportKey(grant.taskId, grant.executorIndex, 'stage-in'),
            Body: sealReport(this.deps.tokens, grant.taskId, grant.executorIndex, 'stage-in', report),
            ContentType: 'application/json',
          }),
        );
      }
      throw error;
    } finally {
      this.copying.delete(grant.taskId);
    }
  }

  protected override async hostInputFiles(record: TaskRecord, scopes: readonly StorageScope[], input: TesInput, index: number, fresh: boolean): Promise<InputSource['files']> {
    // Stage-out's plan lists no input to fetch: stage-in fetched them.
    if (!fresh) return [];
    const url = input.url as string;
    const host = parseHostUrl(url);
    if ('problem' in host) throw new HostInputError(`inputs[${index}] (${url}) could not be staged: it ${host.problem}`);
    let run = this.copying.get(record.id);
    if (run === undefined) {
      run = { left: this.diskBytes(record), chain: Promise.resolve() };
      this.copying.set(record.id, run);
    }
    const budget = run;
    const copy = async (): Promise<InputSource['files']> => {
      const files: InputSource['files'] = [];
      try {
        const warnings = await this.host.files.read(scopes, host.path, input.type ?? 'FILE', budget.left, async (file) => {
          budget.left -= file.size;
          const key = hostFileKey(record.id, 'in', index, file.relative);
          await this.deps.s3.send(new PutObjectCommand({ Bucket: this.deps.bucket, Key: key, Body: file.body, ContentLength: file.size }));
          files.push({ relative: file.relative, url: await this.presignGet(key) });
        });
        if (warnings.length > 0) {
          // Inputs are staged by the first executor's stage-in only.
          const key = `${record.id}/0`;
          this.inputWarnings.set(key, [...(this.inputWarnings.get(key) ?? []), ...warnings.map((w) => `inputs[${index}] (${url}): ${w}`)]);
        }
      } catch (error) {
        const reason = error instanceof HostFileError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
        throw new HostInputError(`inputs[${index}] (${url}) could not be staged: ${reason}`);
      }
      return files;
    };
    // One input at a time: each counts against what is left of the task's disk.
    const copied = budget.chain.then(copy);
    budget.chain = copied.catch(() => undefined);
    return copied;
  }

  protected override hostOutputObject(record: TaskRecord, scopes: readonly StorageScope[], output: TesOutput, index: number, relative: string): { Bucket: string; Key: string } {
    const host = parseHostUrl(output.url);
    if ('problem' in host) throw new StagingRefusedError(`outputs[${index}]: ${output.url} ${host.problem}`);
    if (isPrefixed(output) === (relative === '') || CONTROL_CHARACTER.test(relative) || (relative !== '' && relative.split('/').includes(''))) {
      throw new StagingRefusedError(`${JSON.stringify(relative)} is not a file name below outputs[${index}] that can be written on the host`);
    }
    const target = relative === '' ? host.path : `${host.path}/${relative}`;
    if (!allowsPath(scopes, 'readwrite', target)) throw new StagingRefusedError(`outputs[${index}]: ${target} is outside what the task's owner may write`);
    return { Bucket: this.deps.bucket, Key: hostFileKey(record.id, 'out', index, relative) };
  }

  override async report(token: string, name: ReportName, report: StageReport): Promise<void> {
    const { record, executorIndex, scopes } = await this.task(token);
    const hostFiles = name === 'stage-in' ? (record.task.inputs ?? []).some((i) => i.url !== undefined && isHostUrl(i.url)) : (record.task.outputs ?? []).some((o) => isHostUrl(o.url));
    if (!hostFiles) return super.report(token, name, report);
    let kept = report;
    if (name === 'stage-in') {
      const key = `${record.id}/${executorIndex}`;
      const warnings = this.inputWarnings.get(key) ?? [];
      this.inputWarnings.delete(key);
      if (warnings.length > 0) kept = { ...report, warnings: [...warnings, ...(Array.isArray(report.warnings) ? report.warnings : [])] };
    } else {
      const failure = await this.deliver(record, scopes);
      if (failure !== undefined) kept = { ...report, ok: false, error: report.ok === false && report.error !== undefined ? `${report.error}; ${failure}` : failure };
    }
    await super.report(token, name, kept);
    // The copies have served their purpose: stage-in fetched the inputs; the outputs are on the host.
    if (name === 'stage-in' || kept.ok) await this.remove(hostFilesPrefix(record.id, name === 'stage-in' ? 'in' : 'out'));
  }

  /** Every object under `prefix` in the service bucket, with its size. */
  private async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const found: { key: string; size: number }[] = [];
    let continuation: string | undefined;
    do {
      const page = await this.deps.s3.send(new ListObjectsV2Command({ Bucket: this.deps.bucket, Prefix: prefix, ContinuationToken: continuation }));
      for (const object of page.Contents ?? []) found.push({ key: object.Key as string, size: object.Size ?? 0 });
      continuation = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuation !== undefined);
    return found;
  }

  private async remove(prefix: string): Promise<void> {
    const objects = await this.list(prefix).catch(() => []);
    for (const { key } of objects) await this.deps.s3.send(new DeleteObjectCommand({ Bucket: this.deps.bucket, Key: key })).catch(() => undefined);
  }

  /**
   * Writes what stage-out uploaded for host outputs to the host, all or none; answers why not, naming
   * the output, or undefined when it is all there (or there was nothing to write).
   */
  private async deliver(record: TaskRecord, scopes: readonly StorageScope[]): Promise<string | undefined> {
    const prefix = hostFilesPrefix(record.id, 'out');
    const objects = await this.list(prefix);
    if (objects.length === 0) return undefined;
    const writes: HostWrite[] = [];
    let total = 0;
    for (const object of objects) {
      const [, indexText, relative = ''] = /^(\d+)(?:\/(.+))?$/s.exec(object.key.slice(prefix.length)) ?? [];
      const index = Number(indexText);
      const output = record.task.outputs?.[index];
      const host = output === undefined ? undefined : parseHostUrl(output.url);
      // Only the broker's own upload URLs write here, each for a path it checked: anything else is not written anywhere.
      if (indexText === undefined || output === undefined || host === undefined || 'problem' in host) return `${object.key} is no output of the task; no output was written to the host`;
      const path = relative === '' ? host.path : `${host.path}/${relative}`;
      if (!allowsPath(scopes, 'readwrite', path)) return `outputs[${index}] (${path}) is outside what the task's owner may write; no output was written to the host`;
      total += object.size;
      writes.push({
        path,
        size: object.size,
        what: `outputs[${index}] (${path})`,
        body: async () => (await this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.bucket, Key: object.key }))).Body as Readable,
      });
    }
    if (total > this.diskBytes(record)) return `the host outputs add up to ${total} bytes, more than the task's disk; no output was written to the host`;
    try {
      await this.host.files.writeAll(scopes, writes);
    } catch (error) {
      const reason = error instanceof HostFileError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
      return `${reason}; no output was written to the host`;
    }
    return undefined;
  }
}
