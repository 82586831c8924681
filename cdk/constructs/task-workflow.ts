/**
 * The task workflow: its Lambda steps, the state machine from statemachine/ (the one definition the
 * local runner also executes), the ECS task-state rule, the scheduled reconciler, and the staging
 * broker behind a private REST API reachable only through the VPC's endpoint.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STAGING_RUNS_ATTRIBUTE } from '../../lambdas/adapters/dynamodb-task-store.js';
import { TASK_TABLE } from '../../lambdas/adapters/task-table.js';
import { DEFINITION_FILE } from '../../statemachine/definition.js';
import type { TesConfig } from '../config.js';
import type { ExecutorCluster } from './executor-cluster.js';
import { allow, tesFunction } from './functions.js';
import { storageAccess } from './storage-access.js';

export interface TaskWorkflowProps {
  config: TesConfig;
  table: dynamodb.ITableV2;
  bucket: s3.IBucket;
  executors: ExecutorCluster;
  stagingSecret: secretsmanager.ISecret;
  removalPolicy: RemovalPolicy;
}

export class TaskWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: NodejsFunction[] = [];
  readonly brokerApi: apigw.RestApi;

  constructor(scope: Construct, id: string, props: TaskWorkflowProps) {
    super(scope, id);
    const { config, table, bucket, executors } = props;
    const stack = Stack.of(this);

    this.brokerApi = new apigw.RestApi(this, 'StagingBroker', {
      description: 'Staging broker: trades a run’s staging token for URLs limited to that task',
      // Reached through the VPC's execute-api endpoint (private DNS), whose policy names this API
      // alone; naming the endpoint here as well would make the two depend on each other.
      endpointConfiguration: { types: [apigw.EndpointType.PRIVATE] },
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            principals: [new iam.AnyPrincipal()],
            actions: ['execute-api:Invoke'],
            resources: ['execute-api:/*'],
            conditions: { StringEquals: { 'aws:SourceVpc': executors.vpc.vpcId } },
          }),
        ],
      }),
      deployOptions: {
        tracingEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(
          new logs.LogGroup(this, 'BrokerAccessLogs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy: props.removalPolicy }),
        ),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      cloudWatchRole: false,
    });

    // The broker's endpoint lets executors' tasks invoke this API and nothing else.
    executors.brokerEndpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [stack.formatArn({ service: 'execute-api', resource: this.brokerApi.restApiId, resourceName: '*' })],
      }),
    );

    const environment = {
      TES_TABLE_NAME: table.tableName,
      TES_BUCKET: bucket.bucketName,
      TES_RUNTIME_IMAGE: executors.runtimeImage.imageUri,
      TES_EXECUTOR_USER: config.executorUser,
      TES_EXECUTION_ROLE_ARN: executors.executionRole.roleArn,
      TES_EXECUTOR_LOG_GROUP: executors.logGroup.logGroupName,
      TES_CLUSTER_ARN: executors.cluster.clusterArn,
      TES_SUBNETS: executors.subnets.map((s) => s.subnetId).join(','),
      TES_SECURITY_GROUPS: executors.securityGroup.securityGroupId,
      TES_SPOT_ALLOWED: String(config.spotAllowed),
      ...(config.fargatePrices === '' ? {} : { TES_FARGATE_PRICES: config.fargatePrices }),
      POWERTOOLS_SERVICE_NAME: 'tes-workflow',
    };
    const fn = (name: string, handler: string, entry = 'lambdas/workflow/lambda.ts', timeout = Duration.seconds(60)) => {
      const created = tesFunction(this, name, { entry, handler, environment, logRetentionDays: config.logRetentionDays, removalPolicy: props.removalPolicy, timeout });
      this.functions.push(created);
      return created;
    };
    const prepare = fn('Prepare', 'prepareHandler', undefined, Duration.minutes(5));
    // The staging key signs tickets (Prepare, and Record for a Spot retry) and checks them (the broker): no other function holds it.
    const stagingSecret = props.stagingSecret.secretValue.unsafeUnwrap();
    prepare.addEnvironment('TES_STAGING_SECRET', stagingSecret);
    prepare.addEnvironment('TES_BROKER_URL', `${this.brokerApi.url}staging`);
    if (config.httpInputAllow !== '') prepare.addEnvironment('TES_HTTP_INPUT_ALLOW', config.httpInputAllow);
    const record = fn('Record', 'recordHandler');
    const finalize = fn('Finalize', 'finalizeHandler');
    const recordFailure = fn('RecordFailure', 'recordFailureHandler');
    const ecsEvents = fn('EcsEvents', 'ecsEventHandler');
    const reconciler = fn('Reconciler', 'reconcileHandler', 'lambdas/workflow/reconcile-lambda.ts', Duration.minutes(5));
    const broker = fn('Broker', 'handler', 'lambdas/workflow/broker-lambda.ts');
    broker.addEnvironment('TES_STAGING_SECRET', stagingSecret);
    record.addEnvironment('TES_STAGING_SECRET', stagingSecret);
    for (const [name, value] of Object.entries(config.storage)) broker.addEnvironment(name, value);

    // Each function gets exactly what it uses: items by key, never the whole table or bucket.
    for (const f of [prepare, record, finalize, recordFailure, ecsEvents, reconciler]) allow(f, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(broker, ['dynamodb:GetItem'], [table.tableArn]);
    // Trading a ticket notes its run on the task item, and the broker may write that attribute alone.
    broker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:UpdateItem'],
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', STAGING_RUNS_ATTRIBUTE] } },
      }),
    );
    allow(reconciler, ['dynamodb:Query'], [`${table.tableArn}/index/${TASK_TABLE.indexes.active.name}`]);
    allow(record, ['s3:GetObject'], [bucket.arnForObjects('tasks/*')]);
    // A run's log tails and system lines that do not fit the task's item (domain/output-list.ts).
    allow(record, ['s3:PutObject'], [bucket.arnForObjects('tasks/*/runs/*/log.json')]);
    // The broker signs URLs with its own role: exactly the prefixes the storage policy can allow
    // (users' own prefixes, the service's objects, each rule's prefix), and the S3 endpoint admits
    // those objects for this role only (staging only GETs and PUTs presigned URLs; the broker lists). Whose prefix a task may use is the broker's check, key by key.
    const access = storageAccess(config.storageRules, bucket.bucketArn);
    allow(broker, ['s3:GetObject'], access.read);
    allow(broker, ['s3:PutObject'], access.write);
    for (const listed of access.list) {
      broker.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [listed.bucketArn], conditions: { StringLike: { 's3:prefix': listed.prefixes } } }));
    }
    const brokerRole = broker.role as iam.IRole;
    executors.s3Endpoint.addToPolicy(new iam.PolicyStatement({ principals: [new iam.ArnPrincipal(brokerRole.roleArn)], actions: ['s3:GetObject'], resources: access.read }));
    executors.s3Endpoint.addToPolicy(new iam.PolicyStatement({ principals: [new iam.ArnPrincipal(brokerRole.roleArn)], actions: ['s3:PutObject'], resources: access.write }));

    executors.logGroup.grant(record, 'logs:GetLogEvents');
    // A task past its max_runtime_seconds: RecordFailure stops its Fargate task (the .sync state's timeout may not).
    allow(recordFailure, ['ecs:StopTask'], [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${executors.cluster.clusterName}/*` })]);
    prepare.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition', 'ecs:TagResource'], resources: ['*'] }),
    );
    prepare.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [executors.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );

    const proxy = this.brokerApi.root.addResource('staging').addResource('{operation+}');
    proxy.addMethod('POST', new apigw.LambdaIntegration(broker), { authorizationType: apigw.AuthorizationType.NONE });

    const workflowLogs = new logs.LogGroup(this, 'WorkflowLogs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy: props.removalPolicy });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromFile(DEFINITION_FILE),
      definitionSubstitutions: {
        PrepareFunctionArn: prepare.functionArn,
        RecordFunctionArn: record.functionArn,
        FinalizeFunctionArn: finalize.functionArn,
        RecordFailureFunctionArn: recordFailure.functionArn,
      },
      tracingEnabled: true,
      // Every state change is logged (ALL), without the execution data (task documents stay out of the logs).
      logs: { destination: workflowLogs, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    for (const f of [prepare, record, finalize, recordFailure]) f.grantInvoke(this.stateMachine);
    const account = stack.account;
    const region = stack.region;
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [`arn:aws:ecs:${region}:${account}:task-definition/tes-*`],
        conditions: { ArnEquals: { 'ecs:cluster': executors.cluster.clusterArn } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:StopTask', 'ecs:DescribeTasks'],
        resources: [`arn:aws:ecs:${region}:${account}:task/${executors.cluster.clusterName}/*`],
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [executors.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [`arn:aws:events:${region}:${account}:rule/StepFunctionsGetEventsForECSTaskRule`],
      }),
    );
    this.stateMachine.grantStartExecution(reconciler);
    allow(reconciler, ['states:DescribeExecution'], [`arn:aws:states:${region}:${account}:execution:${this.stateMachine.stateMachineName}:*`]);
    reconciler.addEnvironment('TES_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);

    new events.Rule(this, 'EcsTaskStateChanges', {
      description: 'Executor tasks of this cluster: RUNNING, and teardown of canceled tasks',
      eventPattern: { source: ['aws.ecs'], detailType: ['ECS Task State Change'], detail: { clusterArn: [executors.cluster.clusterArn] } },
      targets: [new targets.LambdaFunction(ecsEvents, { retryAttempts: 8 })],
    });
    new events.Rule(this, 'ReconcileSchedule', {
      description: 'Ends or resumes tasks whose workflow vanished',
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(reconciler)],
    });
  }
}
