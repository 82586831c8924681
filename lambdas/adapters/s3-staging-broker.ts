/**
 * The staging broker: trades a run's capability token for URLs limited to what that task declared
 * and its owner may reach. Inputs from S3 and large content become presigned GETs, outputs
 * presigned PUTs under their declared URL, and reports go to the task's own prefix in the service
 * bucket. Every key it signs is checked against the owner's storage scopes (domain/storage-policy.ts)
 * one by one: a DIRECTORY input lists only keys its owner may read, and a DIRECTORY or wildcard
 * output gets an upload URL only for keys its owner may write.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isHostUrl } from '../domain/host-path.js';
import { mountDirectories } from '../domain/mounts.js';
import { isTerminal } from '../domain/states.js';
import type { StagingGrant, StagingTokens } from '../domain/staging-token.js';
import { allows, directoryPrefix, scopesOf, splitS3Url, type StoragePolicy, type StorageScope } from '../domain/storage-policy.js';
import type { TaskRecord } from '../domain/task-record.js';
import type { TesInput, TesOutput } from '../domain/tes.js';
import type { Clock } from '../ports/clock.js';
import { MAX_OUTPUT_PAGES, OUTPUT_PAGE_FILES, outputPageKey, reportKey, sha256Hex, type OutputPage } from '../domain/output-list.js';
import type { InputSource, ReportName, StageReport, StagingBroker, StagingPlan, StagingSession, UploadedFile, UploadRequest } from '../ports/staging.js';
import type { TaskStore } from '../ports/task-store.js';

const URL_TTL_SECONDS = 6 * 3600;
/** Upload URLs one request may ask for (stage-out asks in batches of 500): signing stays short. */
export const MAX_UPLOAD_TARGETS = 1000;

export class StagingRefusedError extends Error {}

/** s3://bucket/key → { bucket, key }. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const where = splitS3Url(url);
  if (where === undefined) throw new StagingRefusedError(`not an s3:// URL: ${url}`);
  return where;
}

function dirname(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** Where the volumes an executor leaves for the next one are kept, in the service bucket. */
export function carryKey(taskId: string, executorIndex: number, mount: number): string {
  return `tasks/${taskId}/carry/${executorIndex}/${mount}.tar`;
}

export { reportKey } from '../domain/output-list.js';

/** The purpose of the broker's seal over a stage report. */
const REPORT_SEAL = 'stage-report';

/**
 * A stage report as the broker stores it: with its seal (an HMAC over the task, the run, the stage
 * and the report), so whoever reads it later (Record, the next plan) knows the broker wrote it.
 */
export function sealReport(tokens: StagingTokens, taskId: string, executorIndex: number, name: ReportName, report: StageReport): string {
  const body: StageReport = { ...report };
  delete body.seal;
  return JSON.stringify({ ...body, seal: tokens.seal(REPORT_SEAL, [taskId, executorIndex, name, JSON.stringify(body)]) });
}

/** The report in `text` if it carries the broker's seal for this task, run and stage; undefined otherwise. */
export function openReport(tokens: StagingTokens, taskId: string, executorIndex: number, name: ReportName, text: string): StageReport | undefined {
  try {
    const parsed = JSON.parse(text) as StageReport;
    const { seal, ...body } = parsed;
    return tokens.sealed(seal, REPORT_SEAL, [taskId, executorIndex, name, JSON.stringify(body)]) ? (body) : undefined;
  } catch {
    return undefined;
  }
}

export interface StagingBrokerDeps {
  store: TaskStore;
  s3: S3Client;
  /** The service bucket. */
  bucket: string;
  tokens: StagingTokens;
  clock: Clock;
  storage: StoragePolicy;
}

export class S3StagingBroker implements StagingBroker {
  constructor(protected readonly deps: StagingBrokerDeps) {}

  /** The task of a live run: refused once the task has ended or the workflow has recorded the run. */
  private async liveRun(token: string, kind: 'ticket' | 'session'): Promise<{ grant: StagingGrant; record: TaskRecord }> {
    const grant = this.deps.tokens.read(token, Math.floor(this.deps.clock.now().getTime() / 1000), kind);
    const record = await this.deps.store.get(grant.taskId);
    if (record === undefined) throw new StagingRefusedError(`task ${grant.taskId} does not exist`);
    if (grant.executorIndex >= record.task.executors.length) throw new StagingRefusedError('no such executor');
    if (isTerminal(record.state)) throw new StagingRefusedError(`task ${record.id} has ended (${record.state}); its staging tokens are void`);
    if (grant.executorIndex < (record.logs.at(-1)?.logs.length ?? 0)) {
      throw new StagingRefusedError(`executor ${grant.executorIndex}'s run has been recorded; its staging tokens are void`);
    }
    return { grant, record };
  }

  protected async task(token: string): Promise<{ record: TaskRecord; executorIndex: number; scopes: StorageScope[] }> {
    const { grant, record } = await this.liveRun(token, 'session');
    return { record, executorIndex: grant.executorIndex, scopes: this.scopes(record) };
  }

  protected scopes(record: TaskRecord): StorageScope[] {
    return scopesOf(this.deps.storage, { owner: record.owner, admin: record.admin === true });
  }

  async session(ticket: string): Promise<StagingSession> {
    const { grant, record } = await this.liveRun(ticket, 'ticket');
    if (!(await this.deps.store.claimStagingRun(grant.taskId, grant.run))) {
      throw new StagingRefusedError('this staging ticket was traded already: a ticket buys one session');
    }
    const token = this.deps.tokens.issue({ ...grant, kind: 'session' });
    return { token, plan: await this.planFor(record, grant.executorIndex, this.scopes(record), true) };
  }

  /**
   * The files of an input a `file://` URL or bare path names (a directory on the server's disk):
   * none here, where the service stages only URLs. The local stack's broker copies them into the
   * service bucket (local/host-file-broker.ts). `fresh`: asked for by stage-in, once per run.
   */
  protected hostInputFiles(_record: TaskRecord, _scopes: readonly StorageScope[], input: TesInput, index: number, _fresh: boolean): Promise<InputSource['files']> {
    return Promise.reject(new StagingRefusedError(`inputs[${index}]: ${input.url ?? ''} names a file on the server's own disk; this service stages none`));
  }

  /** Where stage-out uploads a file of an output a `file://` URL or bare path names: nowhere here (see hostInputFiles). */
  protected hostOutputObject(_record: TaskRecord, _scopes: readonly StorageScope[], output: TesOutput, index: number, _relative: string): { Bucket: string; Key: string } {
    throw new StagingRefusedError(`outputs[${index}]: ${output.url} names a file on the server's own disk; this service stages none`);
  }

  /** Refuses a key its owner's scopes do not allow (the task was admitted; the policy may have changed since). */
  private check(scopes: readonly StorageScope[], access: 'read' | 'readwrite', bucket: string, key: string, what: string): void {
    if (!allows(scopes, access, bucket, key)) {
      throw new StagingRefusedError(`${what}: s3://${bucket}/${key} is outside what the task's owner may ${access === 'read' ? 'read' : 'write'}`);
    }
  }

  /** The SHA-256 of each archive executor `index` carried, if its stage-out's report holds the broker's seal. */
  private async carriedHashes(taskId: string, index: number): Promise<string[] | undefined> {
    try {
      const out = await this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.bucket, Key: reportKey(taskId, index, 'stage-out') }));
      const report = openReport(this.deps.tokens, taskId, index, 'stage-out', (await out.Body?.transformToString('utf8')) ?? '');
      const hashes = report?.carry;
      return Array.isArray(hashes) && hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) ? hashes : undefined;
    } catch {
      return undefined;
    }
  }

  private presign(command: GetObjectCommand | PutObjectCommand): Promise<string> {
    return getSignedUrl(this.deps.s3, command, { expiresIn: URL_TTL_SECONDS });
  }

  private async inputSource(record: TaskRecord, scopes: readonly StorageScope[], input: TesInput, index: number, fresh: boolean): Promise<InputSource> {
    const type = input.type ?? 'FILE';
    const base = { index, path: input.path, type };
    const offloaded = record.offloaded?.find((o) => o.input === index);
    if (offloaded !== undefined) {
      const url = await this.presign(new GetObjectCommand({ Bucket: this.deps.bucket, Key: offloaded.key }));
      return { ...base, type: 'FILE', source: 'content', files: [{ relative: '', url, ...(offloaded.sha256 === undefined ? {} : { sha256: offloaded.sha256 }) }] };
    }
    if (input.content !== undefined && input.content !== '') {
      const url = `data:application/octet-stream;base64,${Buffer.from(input.content, 'utf8').toString('base64')}`;
      return { ...base, type: 'FILE', source: 'content', files: [{ relative: '', url }] };
    }
    const url = input.url as string;
    if (isHostUrl(url)) return { ...base, source: url, files: await this.hostInputFiles(record, scopes, input, index, fresh) };
    if (!/^s3:\/\//i.test(url)) {
      if (!this.deps.storage.httpInputs) throw new StagingRefusedError(`inputs[${index}]: http(s) inputs are turned off`);
      return { ...base, source: url, files: [{ relative: '', url, external: true }] };
    }
    const { bucket, key } = parseS3Url(url);
    if (type === 'FILE') {
      this.check(scopes, 'read', bucket, key, `inputs[${index}]`);
      return { ...base, source: url, files: [{ relative: '', url: await this.presign(new GetObjectCommand({ Bucket: bucket, Key: key })) }] };
    }
    const prefix = directoryPrefix(key);
    this.check(scopes, 'read', bucket, prefix, `inputs[${index}]`);
    const files: InputSource['files'] = [];
    let continuation: string | undefined;
    do {
      const page = await this.deps.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuation }));
      for (const object of page.Contents ?? []) {
        const relative = (object.Key as string).slice(prefix.length);
        if (relative === '' || relative.endsWith('/')) continue;
        // Each key on its own: one with '.' or '..' segments would reach another key (or another directory) once fetched.
        this.check(scopes, 'read', bucket, object.Key as string, `inputs[${index}]`);
        files.push({ relative, url: await this.presign(new GetObjectCommand({ Bucket: bucket, Key: object.Key })) });
      }
      continuation = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuation !== undefined);
    return { ...base, source: url, files };
  }

  async plan(token: string): Promise<StagingPlan> {
    const { record, executorIndex, scopes } = await this.task(token);
    return this.planFor(record, executorIndex, scopes, false);
  }

  private async planFor(record: TaskRecord, executorIndex: number, scopes: readonly StorageScope[], fresh: boolean): Promise<StagingPlan> {
    const task = record.task;
    const executor = task.executors[executorIndex];
    const directories = new Set<string>();
    for (const e of task.executors) {
      if (e.workdir !== undefined) directories.add(e.workdir);
      for (const stream of ['stdout', 'stderr'] as const) if (e[stream] !== undefined) directories.add(dirname(e[stream]));
    }
    const mounts = mountDirectories(task);
    const carry = (index: number, write: boolean) =>
      Promise.all(
        mounts.map((_, m) => {
          const target = { Bucket: this.deps.bucket, Key: carryKey(record.id, index, m) };
          return this.presign(write ? new PutObjectCommand(target) : new GetObjectCommand(target));
        }),
      );
    let restoreSha256: string[] | undefined;
    if (executorIndex > 0 && mounts.length > 0) {
      restoreSha256 = await this.carriedHashes(record.id, executorIndex - 1);
      if (restoreSha256 === undefined || restoreSha256.length !== mounts.length) {
        throw new StagingRefusedError(`the volumes executor ${executorIndex - 1} left carry no seal of this service; they are not used`);
      }
    }
    return {
      taskId: record.id,
      executorIndex,
      executorCount: task.executors.length,
      ignoreError: executor?.ignore_error === true,
      mounts,
      directories: [...directories],
      // Inputs are put in place once, before the first executor; later executors find them (and
      // whatever earlier executors changed) in the shared volumes.
      inputs: executorIndex === 0 ? await Promise.all((task.inputs ?? []).map((input, i) => this.inputSource(record, scopes, input, i, fresh))) : [],
      carry: {
        ...(executorIndex > 0 ? { restore: await carry(executorIndex - 1, false), restoreSha256: restoreSha256 ?? [] } : {}),
        ...(executorIndex < task.executors.length - 1 ? { save: await carry(executorIndex, true) } : {}),
      },
      outputs: (task.outputs ?? []).map((output, index) => ({
        index,
        path: output.path,
        ...(output.path_prefix === undefined ? {} : { pathPrefix: output.path_prefix }),
        type: output.type ?? 'FILE',
        url: output.url,
      })),
    };
  }

  async uploadTargets(token: string, files: UploadRequest[]): Promise<string[]> {
    if (!Array.isArray(files) || files.length > MAX_UPLOAD_TARGETS) throw new StagingRefusedError(`ask for at most ${MAX_UPLOAD_TARGETS} upload URLs at a time`);
    const { record, scopes } = await this.task(token);
    return Promise.all(
      files.map((file) => {
        const output = record.task.outputs?.[file.output];
        if (output === undefined) throw new StagingRefusedError(`no output ${file.output}`);
        const segments = file.relative.split('/');
        if (file.relative.startsWith('/') || segments.some((s) => s === '..' || s === '.')) {
          throw new StagingRefusedError(`${file.relative} is not a path below outputs[${file.output}]`);
        }
        if (isHostUrl(output.url)) return this.presign(new PutObjectCommand(this.hostOutputObject(record, scopes, output, file.output, file.relative)));
        const { bucket, key } = parseS3Url(output.url);
        const target = file.relative === '' ? key : `${key.replace(/\/+$/, '')}/${file.relative}`;
        this.check(scopes, 'readwrite', bucket, target, `outputs[${file.output}]`);
        return this.presign(new PutObjectCommand({ Bucket: bucket, Key: target }));
      }),
    );
  }

  async report(token: string, name: ReportName, report: StageReport): Promise<void> {
    const { record, executorIndex } = await this.task(token);
    await this.deps.s3.send(
      new PutObjectCommand({
        Bucket: this.deps.bucket,
        Key: reportKey(record.id, executorIndex, name),
        Body: sealReport(this.deps.tokens, record.id, executorIndex, name, report),
        ContentType: 'application/json',
      }),
    );
  }

  async outputPage(token: string, page: number, files: UploadedFile[]): Promise<OutputPage> {
    if (!Number.isInteger(page) || page < 0 || page >= MAX_OUTPUT_PAGES) throw new StagingRefusedError(`an output page is numbered 0 to ${MAX_OUTPUT_PAGES - 1}`);
    if (!Array.isArray(files) || files.length === 0 || files.length > OUTPUT_PAGE_FILES) {
      throw new StagingRefusedError(`an output page lists 1 to ${OUTPUT_PAGE_FILES} files`);
    }
    const { record, executorIndex } = await this.task(token);
    // Only files of the task's own outputs: a page can list nothing the task did not declare.
    const declared = (record.task.outputs ?? []).map((o) => o.url.replace(/\/+$/, ''));
    const kept: UploadedFile[] = files.map((file, i) => {
      const { url, path, size_bytes: size } = (file ?? {}) as Partial<UploadedFile>;
      const ok =
        typeof url === 'string' &&
        typeof path === 'string' &&
        path.length <= 4096 &&
        typeof size === 'string' &&
        /^\d{1,20}$/.test(size) &&
        declared.some((d) => url === d || url.startsWith(`${d}/`));
      if (!ok) throw new StagingRefusedError(`file ${i} of output page ${page} is not an uploaded file of the task's outputs`);
      return { url, path, size_bytes: size };
    });
    const body = JSON.stringify(kept);
    await this.deps.s3.send(
      new PutObjectCommand({ Bucket: this.deps.bucket, Key: outputPageKey(record.id, executorIndex, page), Body: body, ContentType: 'application/json' }),
    );
    return { count: kept.length, sha256: sha256Hex(body) };
  }
}
