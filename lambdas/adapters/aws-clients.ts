/**
 * The one factory for AWS SDK clients. Endpoints are passed explicitly (the local stack and
 * LocalStack set them; in AWS they are absent), so nothing depends on SDK environment handling.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

export interface AwsConfig {
  region: string;
  endpoints?: { dynamodb?: string; s3?: string; stepfunctions?: string; ecs?: string; logs?: string };
  /** Only for stand-ins; in AWS the default provider chain (the function's role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function common(config: AwsConfig, endpoint: string | undefined) {
  return {
    region: config.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  };
}

export function dynamoDbClient(config: AwsConfig): DynamoDBClient {
  return new DynamoDBClient(common(config, config.endpoints?.dynamodb));
}

export function dynamoDbDocumentClient(config: AwsConfig): DynamoDBDocumentClient {
  const client = dynamoDbClient(config);
  return DynamoDBDocumentClient.from(client, {
    // Client maps (tags, env) may hold a key named `constructor`, which makes a plain object look like
    // a class instance to the marshaller; the store only ever passes plain JSON values.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

export function s3Client(config: AwsConfig): S3Client {
  const standIn = config.endpoints?.s3 !== undefined;
  return new S3Client({
    ...common(config, config.endpoints?.s3),
    // Stand-ins want path-style addressing, and do not understand the chunked, trailing-checksum
    // uploads the SDK sends for streams by default: checksum only what S3 requires there.
    forcePathStyle: standIn,
    ...(standIn ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  });
}

export function stepFunctionsClient(config: AwsConfig): SFNClient {
  return new SFNClient(common(config, config.endpoints?.stepfunctions));
}
