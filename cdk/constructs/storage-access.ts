/**
 * What the storage policy lets tasks reach, as IAM: the staging broker's role and the S3 gateway
 * endpoint admit exactly these prefixes (users' own prefixes and the service's objects in the service
 * bucket, and each operator rule's prefix with `{owner}` as a wildcard). Per-user scoping within them
 * is the broker's check (lambdas/domain/storage-policy.ts): IAM cannot know whose task a URL is for.
 */
import type { StorageRule } from '../../lambdas/domain/storage-policy.js';
import { USERS_PREFIX } from '../../lambdas/domain/storage-policy.js';

export interface S3Access {
  /** Object ARNs (with wildcards) that may be read. */
  read: string[];
  /** Object ARNs that may be written. */
  write: string[];
  /** Buckets that may be listed, each only under these key prefixes (s3:prefix patterns). */
  list: { bucketArn: string; prefixes: string[] }[];
}

/** The service bucket's own objects: offloaded content, carried volumes, stage reports, logs. */
export const SERVICE_OBJECTS_PREFIX = 'tasks/';

export function storageAccess(rules: readonly StorageRule[], serviceBucketArn: string): S3Access {
  const access: S3Access = {
    read: [`${serviceBucketArn}/${SERVICE_OBJECTS_PREFIX}*`, `${serviceBucketArn}/${USERS_PREFIX}*`],
    write: [`${serviceBucketArn}/${SERVICE_OBJECTS_PREFIX}*`, `${serviceBucketArn}/${USERS_PREFIX}*`],
    list: [{ bucketArn: serviceBucketArn, prefixes: [`${USERS_PREFIX}*`] }],
  };
  for (const rule of rules) {
    const glob = `${rule.prefix.replace('{owner}', '*')}*`;
    const bucketArn = `arn:aws:s3:::${rule.bucket}`;
    access.read.push(`${bucketArn}/${glob}`);
    if (rule.access === 'readwrite') access.write.push(`${bucketArn}/${glob}`);
    const listed = access.list.find((l) => l.bucketArn === bucketArn);
    if (listed === undefined) access.list.push({ bucketArn, prefixes: [glob] });
    else if (!listed.prefixes.includes(glob)) listed.prefixes.push(glob);
  }
  access.read = [...new Set(access.read)];
  access.write = [...new Set(access.write)];
  return access;
}

/**
 * The ECR repositories executors may be pulled from: the runtime image's, and those the admission
 * allowlist names in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo prefix>`); with no
 * allowlist, any repository of this account in this region. Images from other registries do not
 * come through the ECR endpoint at all (they need executorEgress=internet).
 */
export function ecrRepositoryArns(allowedImagePrefixes: readonly string[], region: string, account: string): string[] {
  if (allowedImagePrefixes.length === 0) return [`arn:aws:ecr:${region}:${account}:repository/*`];
  const arns: string[] = [];
  for (const prefix of allowedImagePrefixes) {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\/(.*))?$/.exec(prefix.trim());
    if (m !== null) arns.push(`arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3] ?? ''}*`);
  }
  return [...new Set(arns)];
}
