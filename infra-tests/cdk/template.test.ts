/**
 * What `cdk deploy` would stand up, asserted on the synthesized templates (no AWS account needed):
 * every hardening promise, every IAM boundary, the routes and the authorizer, and cdk-nag clean.
 */
import { Aspects, type App } from 'aws-cdk-lib';
import { testApp } from '../support/cdk-app.js';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATHS, ROUTES, routePaths } from '../../lambdas/api/routes.js';
import { buildApp } from '../../cdk/app.js';

let app: App;
let stateful: Template;
let service: Template;
let stacks: ReturnType<typeof buildApp>;

beforeAll(() => {
  app = testApp({
    context: {
      auth: 'cognito',
      storageRules: ['s3://lab-data/{owner}/=readwrite', 's3://reference/genomes/=read'],
      allowedImagePrefixes: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/,public.ecr.aws/',
    },
  });
  stacks = buildApp(app);
  Aspects.of(app); // aspects (cdk-nag) run during synth
  app.synth();
  stateful = Template.fromStack(stacks.stateful);
  service = Template.fromStack(stacks.service);
}, 120_000);

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

function statementsOf(template: Template): { policy: string; statement: Statement }[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries(policies).flatMap(([policy, resource]) =>
    ((resource as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement).map((statement) => ({ policy, statement })),
  );
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('cdk-nag AwsSolutions', () => {
  it('ends with no unsuppressed error or warning on either stack', () => {
    for (const stack of [stacks.stateful, stacks.service]) {
      const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
      expect(errors.map((e) => e.entry.data)).toEqual([]);
      expect(warnings.map((w) => w.entry.data)).toEqual([]);
    }
  });
});

describe('the stateful stack', () => {
  it('keeps tasks in an on-demand table with point-in-time recovery, deletion protection and the listing indexes', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({ IndexName: 'byOwner' }),
        Match.objectLike({ IndexName: 'byOwnerState' }),
        Match.objectLike({ IndexName: 'active', Projection: { ProjectionType: 'KEYS_ONLY' } }),
        Match.objectLike({ IndexName: 'all', KeySchema: [{ AttributeName: 'shard', KeyType: 'HASH' }, { AttributeName: 'pk', KeyType: 'RANGE' }] }),
      ]),
    });
  });

  it('encrypts every bucket, blocks public access, refuses plain HTTP and expires task data', () => {
    const buckets = stateful.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets).length).toBe(2);
    for (const bucket of Object.values(buckets) as { Properties: Record<string, unknown> }[]) {
      expect(bucket.Properties['BucketEncryption']).toBeDefined();
      expect(bucket.Properties['PublicAccessBlockConfiguration']).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties['LifecycleConfiguration']).toBeDefined();
    }
    const policies = stateful.findResources('AWS::S3::BucketPolicy');
    for (const policy of Object.values(policies)) {
      expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
    }
  });
});

describe('the API', () => {
  it('serves every TES route under /ga4gh/tes/v1 and /v1, and a $default-style catch-all', () => {
    for (const route of ROUTES) {
      for (const base of BASE_PATHS) {
        for (const path of routePaths(route)) service.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `${route.method} ${base}${path}` });
      }
    }
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /v1/tasks/service-info' });
    service.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /{proxy+}' });
  });

  it('puts the JWT authorizer on every task route, leaving only service-info and the 404 open', () => {
    const routes = Object.values(service.findResources('AWS::ApiGatewayV2::Route')) as { Properties: { RouteKey: string; AuthorizationType?: string } }[];
    for (const route of routes) {
      const open = route.Properties.RouteKey.endsWith('/service-info') || route.Properties.RouteKey === 'ANY /{proxy+}' || route.Properties.RouteKey.startsWith('OPTIONS');
      expect(route.Properties.AuthorizationType ?? 'NONE', route.Properties.RouteKey).toBe(open ? 'NONE' : 'JWT');
    }
    service.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT' });
    service.resourceCountIs('AWS::Cognito::UserPool', 1);
  });

  it('logs access and throttles the stage', () => {
    service.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
  });
});

describe('the Lambda functions', () => {
  it('run Node.js 22 on arm64 with X-Ray and JSON logs, each with a retained log group', () => {
    const functions = Object.values(service.findResources('AWS::Lambda::Function')) as { Properties: Record<string, unknown> }[];
    const ours = functions.filter((f) => f.Properties['Runtime'] === 'nodejs22.x');
    expect(ours.length).toBe(ROUTES.length + 1 + 7);
    for (const f of ours) {
      expect(f.Properties['Architectures']).toEqual(['arm64']);
      expect(f.Properties['TracingConfig']).toEqual({ Mode: 'Active' });
      expect(f.Properties['LoggingConfig']).toMatchObject({ LogFormat: 'JSON' });
    }
    for (const group of Object.values(service.findResources('AWS::Logs::LogGroup')) as { Properties: Record<string, unknown> }[]) {
      expect(group.Properties['RetentionInDays']).toBe(90);
    }
  });
});

describe('IAM', () => {
  it('grants no wildcard action and never the whole of DynamoDB or S3', () => {
    for (const template of [stateful, service]) {
      for (const { policy, statement } of statementsOf(template)) {
        for (const action of actions(statement)) {
          expect(action, policy).not.toBe('*');
          expect(action, policy).not.toMatch(/^(dynamodb|s3|ecs|iam|states):\*$/);
        }
      }
    }
  });

  it('lets ListTasks query only the listing indexes, never Scan', () => {
    const listTasks = statementsOf(service).filter(({ policy }) => policy.startsWith('TesApiListTasks'));
    const query = listTasks.filter(({ statement }) => actions(statement).includes('dynamodb:Query'));
    const resources = query.flatMap(({ statement }) => [statement['Resource']].flat()).map((r) => JSON.stringify(r));
    expect(resources.map((r) => /index\/(\w+)/.exec(r)?.[1]).sort()).toEqual(['all', 'byOwner', 'byOwnerState']);
    expect(listTasks.flatMap(({ statement }) => actions(statement))).not.toContain('dynamodb:Scan');
  });

  it('makes members of the Cognito group tes-admins the admins, by the claim the API checks', () => {
    service.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'tes-admins' });
    const functions = Object.values(service.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
    const claims = functions.map((f) => f.Properties.Environment?.Variables?.['TES_ADMIN_CLAIM']).filter((c) => c !== undefined);
    expect(claims.length).toBeGreaterThanOrEqual(5);
    expect(new Set(claims)).toEqual(new Set(['cognito:groups=tes-admins']));
  });

  it("lets GetTask read a task, its content and its running executor's log stream, and nothing else", () => {
    const getTask = statementsOf(service).filter(({ policy }) => policy.startsWith('TesApiGetTask'));
    const granted = getTask.flatMap(({ statement }) => actions(statement)).filter((a) => !a.startsWith('xray:'));
    expect(granted.sort()).toEqual(['dynamodb:GetItem', 'logs:GetLogEvents', 's3:GetObject']);
    const logs = getTask.find(({ statement }) => actions(statement).includes('logs:GetLogEvents'));
    expect(JSON.stringify(logs?.statement.Resource)).toContain('TesExecutorsExecutorLogs');
  });

  it('passes only the execution role, and only to ECS tasks', () => {
    for (const { statement } of statementsOf(service).filter(({ statement }) => actions(statement).includes('iam:PassRole'))) {
      expect(JSON.stringify(statement)).toContain('ecs-tasks.amazonaws.com');
      expect(JSON.stringify(statement.Resource)).toContain('ExecutionRole');
    }
  });

  it('lets CancelTask stop Fargate tasks only in the executors’ cluster', () => {
    const stop = statementsOf(service).filter(({ policy, statement }) => policy.startsWith('TesApiCancelTask') && actions(statement).includes('ecs:StopTask'));
    expect(stop).toHaveLength(1);
    expect(JSON.stringify(stop[0]?.statement.Resource)).toContain('TesExecutorsCluster');
  });

  it('lets the state machine run only this stack’s executor task definitions, in its cluster', () => {
    const runTask = statementsOf(service).find(({ statement }) => actions(statement).includes('ecs:RunTask'));
    expect(JSON.stringify(runTask?.statement.Resource)).toContain(':task-definition/tes-*');
    expect(JSON.stringify(runTask?.statement)).toContain('ecs:cluster');
  });
});

describe('executors', () => {
  it('get a security group with no ingress, in subnets without a NAT gateway by default', () => {
    const groups = Object.values(service.findResources('AWS::EC2::SecurityGroup')) as { Properties: Record<string, unknown> }[];
    const executor = groups.find((g) => String(g.Properties['GroupDescription']).startsWith('TES executor tasks'));
    expect(executor?.Properties['SecurityGroupIngress']).toBeUndefined();
    service.resourceCountIs('AWS::EC2::NatGateway', 0);
    service.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });

  it('have GuardDuty Runtime Monitoring for Fargate on', () => {
    service.hasResourceProperties('AWS::GuardDuty::Detector', {
      Features: [Match.objectLike({ Name: 'RUNTIME_MONITORING', Status: 'ENABLED', AdditionalConfiguration: [{ Name: 'ECS_FARGATE_AGENT_MANAGEMENT', Status: 'ENABLED' }] })],
    });
  });

  it('run on a cluster with FARGATE and FARGATE_SPOT', () => {
    service.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']) });
  });
});

describe('the walls around data and staging', () => {
  type Resource = { Properties: Record<string, unknown> };
  const functionsWith = (variable: string) =>
    Object.entries(service.findResources('AWS::Lambda::Function') as Record<string, Resource>)
      .filter(([, f]) => (f.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[variable] !== undefined)
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
  const brokerStatements = () => statementsOf(service).filter(({ policy }) => policy.startsWith('TesWorkflowBrokerServiceRoleDefaultPolicy'));
  /** The policy of the VPC endpoint whose service name ends in `name` (s3, ecr.api, logs, execute-api). */
  const endpointPolicy = (name: string) => {
    const endpoints = Object.values(service.findResources('AWS::EC2::VPCEndpoint')) as Resource[];
    const found = endpoints.find((e) => new RegExp(`\\.${name.replace('.', '\\.')}"`).test(JSON.stringify(e.Properties['ServiceName'])));
    expect(found, name).toBeDefined();
    return JSON.stringify(found?.Properties['PolicyDocument'] ?? null);
  };

  it('keeps the staging key in Prepare, Record and the broker, and the page-token key in ListTasks, and nowhere else', () => {
    expect(functionsWith('TES_STAGING_SECRET')).toEqual(['TesWorkflowBroker', 'TesWorkflowPrepare', 'TesWorkflowRecord']);
    expect(functionsWith('TES_PAGE_TOKEN_SECRET')).toEqual(['TesApiListTasks']);
  });

  it("gives the broker's role exactly the prefixes the storage policy can allow: users' and the service's in its bucket, each rule's prefix, writes only where a rule says readwrite", () => {
    const resourcesFor = (action: string) =>
      brokerStatements()
        .filter(({ statement }) => actions(statement).includes(action))
        .flatMap(({ statement }) => [statement.Resource].flat())
        .map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
    const reads = resourcesFor('s3:GetObject');
    expect(reads.filter((r) => r.startsWith('arn:aws:s3:::')).sort()).toEqual(['arn:aws:s3:::lab-data/*/*', 'arn:aws:s3:::reference/genomes/*']);
    expect(reads.filter((r) => !r.startsWith('arn:aws:s3:::')).map((r) => /\/(tasks|users)\/\*/.exec(r)?.[1]).sort()).toEqual(['tasks', 'users']);
    expect(resourcesFor('s3:PutObject').filter((r) => r.startsWith('arn:aws:s3:::'))).toEqual(['arn:aws:s3:::lab-data/*/*']);
    const lists = brokerStatements().filter(({ statement }) => actions(statement).includes('s3:ListBucket'));
    for (const { statement } of lists) expect(JSON.stringify(statement)).toContain('s3:prefix');
    expect(lists.map(({ statement }) => JSON.stringify((statement as unknown as { Condition: unknown }).Condition)).join()).toContain('genomes/*');
    // The broker may note traded tickets on a task item, and write no other attribute.
    const update = brokerStatements().find(({ statement }) => actions(statement).includes('dynamodb:UpdateItem'));
    expect((update?.statement as unknown as { Condition: unknown }).Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'stagingRuns'] } });
  });

  it('lets the S3 endpoint carry object reads and writes for the broker’s role only, and ECR’s layers', () => {
    const policy = JSON.parse(endpointPolicy('s3')) as { Statement: { Principal: unknown; Action: string | string[]; Resource: unknown }[] };
    for (const statement of policy.Statement) {
      const resources = JSON.stringify(statement.Resource);
      if (resources.includes('starport-layer-bucket')) expect(statement.Action).toBe('s3:GetObject');
      else expect(JSON.stringify(statement.Principal)).toContain('TesWorkflowBrokerServiceRole');
      expect([statement.Action].flat()).not.toContain('s3:ListBucket');
    }
    expect(JSON.stringify(policy)).not.toContain('"s3:*"');
  });

  it('lets the ECR endpoints serve the execution role images from the allowed repositories and the runtime image’s only', () => {
    for (const name of ['ecr.api', 'ecr.dkr']) {
      const policy = endpointPolicy(name);
      expect(policy).toContain('ExecutionRole');
      expect(policy).toContain('arn:aws:ecr:eu-west-1:123456789012:repository/tools/*');
      expect(policy).not.toMatch(/repository\/\*"/);
    }
  });

  it("lets the Logs endpoint write only into this stack's executor log group", () => {
    const policy = endpointPolicy('logs');
    expect(policy).toContain('logs:PutLogEvents');
    expect(policy).toContain('TesExecutorsExecutorLogs');
    expect(policy).not.toContain('"*"');
  });

  it('lets the execute-api endpoint invoke the staging broker and no other API, which answers only inside the VPC', () => {
    const policy = endpointPolicy('execute-api');
    expect(policy).toContain('execute-api:Invoke');
    expect(policy).toContain('TesWorkflowStagingBroker');
    const api = Object.values(service.findResources('AWS::ApiGateway::RestApi')) as Resource[];
    expect(JSON.stringify(api[0]?.Properties['Policy'])).toContain('aws:SourceVpc');
  });

  it('lets service-info check a bearer token against the user pool itself (its route has no authorizer)', () => {
    expect(functionsWith('TES_JWT_ISSUER')).toEqual(['TesApiGetServiceInfo']);
  });

  it('gives the API and the broker the storage policy', () => {
    const holders = functionsWith('TES_STORAGE_RULES');
    expect(holders).toContain('TesApiCreateTask');
    expect(holders).toContain('TesApiGetServiceInfo');
    expect(holders).toContain('TesWorkflowBroker');
  });
});

describe('the workflow', () => {
  it('is the statemachine/ definition with its four functions substituted, logged and traced', () => {
    service.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: {
        PrepareFunctionArn: Match.anyValue(),
        RecordFunctionArn: Match.anyValue(),
        FinalizeFunctionArn: Match.anyValue(),
        RecordFailureFunctionArn: Match.anyValue(),
      },
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  it('hears ECS task state changes and reconciles on a schedule', () => {
    service.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] }) });
    service.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  it('raises alarms for failed executions, handler errors and API 5xx', () => {
    const alarms = Object.values(service.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmDescription: string } }[];
    expect(alarms.map((a) => a.Properties.AlarmDescription).sort()).toEqual([
      'A TES API handler failed',
      'A task workflow handler failed',
      'Task workflows failed (tasks ended SYSTEM_ERROR)',
      'The TES API answered 5xx',
    ]);
  });
});
