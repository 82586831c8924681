/**
 * What must outlive any deployment of the service: the task table and the service bucket. Kept
 * apart from the service stack, with termination protection, point-in-time recovery and deletion
 * protection, so redeploying or deleting the service never touches the tasks.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { TASK_TABLE } from '../lambdas/adapters/task-table.js';
import type { TesConfig } from './config.js';
import { logBucket } from './constructs/log-bucket.js';

export class TesStatefulStack extends Stack {
  readonly table: dynamodb.TableV2;
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, config: TesConfig, props?: StackProps) {
    super(scope, id, { terminationProtection: config.removalPolicy === 'retain', ...props });
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const { byOwner, byOwnerState, active, all } = TASK_TABLE.indexes;
    const projected = { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...TASK_TABLE.projectedAttributes] };
    const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.TableV2(this, 'Tasks', {
      partitionKey: key(TASK_TABLE.partitionKey),
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: config.removalPolicy === 'retain',
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
      globalSecondaryIndexes: [
        { indexName: byOwner.name, partitionKey: key(byOwner.partitionKey), sortKey: key(byOwner.sortKey), ...projected },
        { indexName: byOwnerState.name, partitionKey: key(byOwnerState.partitionKey), sortKey: key(byOwnerState.sortKey), ...projected },
        { indexName: active.name, partitionKey: key(active.partitionKey), sortKey: key(active.sortKey), projectionType: dynamodb.ProjectionType.KEYS_ONLY },
        { indexName: all.name, partitionKey: key(all.partitionKey), sortKey: key(all.sortKey), ...projected },
      ],
    });

    this.accessLogs = logBucket(this, 'AccessLogs', { retentionDays: config.logRetentionDays, removalPolicy });
    this.bucket = new s3.Bucket(this, 'ServiceBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'service-bucket/',
      lifecycleRules: [
        // Large content, staging reports, carried volumes and executor logs of ended tasks.
        { prefix: 'tasks/', expiration: Duration.days(Math.max(config.taskDataRetentionDays, 1)) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
  }
}
