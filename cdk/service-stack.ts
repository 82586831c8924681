import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { TesConfig } from './config.js';
import { TesService } from './constructs/tes-service.js';

/** The stateless part: the whole service on the stateful stack's table and bucket. */
export class TesServiceStack extends Stack {
  readonly service: TesService;

  constructor(scope: Construct, id: string, props: StackProps & { config: TesConfig; table: dynamodb.ITableV2; bucket: s3.IBucket }) {
    super(scope, id, props);
    this.service = new TesService(this, 'Tes', { config: props.config, table: props.table, bucket: props.bucket });
  }
}
