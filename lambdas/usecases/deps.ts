import type { PageTokens } from '../domain/page-token.js';
import type { ServiceInfoConfig } from '../domain/service-info.js';
import type { AdmissionPolicy } from '../domain/admission.js';
import { storagePolicyFromEnv, type StoragePolicy } from '../domain/storage-policy.js';
import type { Clock } from '../ports/clock.js';
import type { Ids } from '../ports/ids.js';
import type { LogStore } from '../ports/log-store.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkflowPort } from '../ports/workflow.js';

/** Everything the TES use cases need, injected (the cloud wiring and the local stack differ only here). */
export interface TesDeps {
  store: TaskStore;
  workflow: WorkflowPort;
  objects: ObjectStore;
  clock: Clock;
  ids: Ids;
  /** Signs ListTasks page tokens: only where TES_PAGE_TOKEN_SECRET is (ListTasks in AWS). */
  pageTokens?: PageTokens;
  serviceInfo: ServiceInfoConfig;
  /** What the operator admits beyond the spec (default: any image). */
  admission?: AdmissionPolicy;
  /** What each caller's tasks may read and write (default: their own prefix of the service bucket). */
  storage?: StoragePolicy;
  /** Executors' stdout/stderr, for the FULL view of a running task. */
  logs?: LogStore;
}

/** The storage policy in force: the configured one, or each user's own prefix of the service bucket only. */
export function storagePolicyOf(deps: Pick<TesDeps, 'storage' | 'objects'>): StoragePolicy {
  return deps.storage ?? storagePolicyFromEnv({}, deps.objects.bucket);
}
