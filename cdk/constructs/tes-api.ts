/**
 * The TES HTTP API: API Gateway HTTP API with every TES route under /ga4gh/tes/v1 and /v1, one Lambda
 * per operation, a JWT authorizer (a Cognito user pool it creates, or any OIDC issuer), access logs,
 * stage throttling and CORS. Anything else gets the documented 404 through the $default route.
 */
import { Annotations, ArnFormat, CfnOutput, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TASK_TABLE } from '../../lambdas/adapters/task-table.js';
import { BASE_PATHS, DEFAULT_ROUTE, ROUTES, routePaths } from '../../lambdas/api/routes.js';
import { ADMIN_GROUP, type TesConfig } from '../config.js';
import { allow, tesFunction } from './functions.js';

export interface TesApiProps {
  config: TesConfig;
  table: dynamodb.ITableV2;
  bucket: s3.IBucket;
  stateMachine: sfn.IStateMachine;
  /** The executors' cluster: CancelTask stops a canceled task's Fargate tasks there. */
  cluster: ecs.ICluster;
  pageTokenSecret: secretsmanager.ISecret;
  /** Where executors log: the FULL view of a running task reads its executor's output there. */
  executorLogGroup: logs.ILogGroup;
  removalPolicy: RemovalPolicy;
}

export class TesApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly functions = new Map<string, NodejsFunction>();
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;
  /** The user pool's app clients whose tokens the API accepts: read at synth, so clients added later count. */
  private readonly audiences: string[] = [];

  constructor(scope: Construct, id: string, props: TesApiProps) {
    super(scope, id);
    const { config, table, bucket, stateMachine } = props;
    const environment: Record<string, string> = {
      TES_TABLE_NAME: table.tableName,
      TES_BUCKET: bucket.bucketName,
      TES_STATE_MACHINE_ARN: stateMachine.stateMachineArn,
      TES_CLUSTER_ARN: props.cluster.clusterArn,
      TES_SERVICE_ENVIRONMENT: 'prod',
      POWERTOOLS_SERVICE_NAME: 'tes-api',
    };
    Object.assign(environment, config.admission, config.storage);
    environment['TES_ADMIN_CLAIM'] = config.adminClaim;
    if (config.auth === 'none') {
      environment['TES_ANONYMOUS_OWNER'] = 'anonymous';
      Annotations.of(this).addWarningV2('tes:auth-none', 'auth=none: anyone who can reach the API can submit and see every task. Use it only behind a private network.');
    }

    let authorizer: apigwv2.IHttpRouteAuthorizer | undefined;
    /** What GetServiceInfo checks a bearer token against itself (its route has no authorizer). */
    let publicTokens: { TES_JWT_ISSUER: string; TES_JWT_AUDIENCE: string } | undefined;
    const audiences = Lazy.list({ produce: () => this.audiences });
    if (config.auth === 'cognito') {
      const pool = new cognito.UserPool(this, 'Users', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { sms: false, otp: true },
        featurePlan: cognito.FeaturePlan.PLUS,
        standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        removalPolicy: props.removalPolicy,
      });
      // Workflow engines sign in with a password (SRP or not); no OAuth flow, so the hosted UI (the dashboard's) never serves this client.
      const client = pool.addClient('TesClients', { authFlows: { userPassword: true, userSrp: true }, generateSecret: false, disableOAuth: true });
      (this as { userPool?: cognito.UserPool }).userPool = pool;
      // Members of this group hold `cognito:groups=tes-admins`, the default admin claim: they see every task.
      new cognito.CfnUserPoolGroup(this, 'Admins', { userPoolId: pool.userPoolId, groupName: ADMIN_GROUP, description: "Sees and cancels every user's tasks" });
      (this as { userPoolClient?: cognito.UserPoolClient }).userPoolClient = client;
      this.audiences.push(client.userPoolClientId);
      // The pool's issuer, as HttpUserPoolAuthorizer names it; the audience is every client added with addUserPoolClient.
      const issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${pool.userPoolId}`;
      authorizer = new HttpJwtAuthorizer('Jwt', issuer, { jwtAudience: audiences });
      publicTokens = { TES_JWT_ISSUER: issuer, TES_JWT_AUDIENCE: Lazy.string({ produce: () => this.audiences.join(',') }) };
      new CfnOutput(this, 'UserPoolId', { value: pool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: client.userPoolClientId });
    } else if (config.auth === 'oidc') {
      authorizer = new HttpJwtAuthorizer('Jwt', config.oidcIssuer as string, { jwtAudience: config.oidcAudience as string[] });
      publicTokens = { TES_JWT_ISSUER: config.oidcIssuer as string, TES_JWT_AUDIENCE: (config.oidcAudience as string[]).join(',') };
    }

    this.api = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'GA4GH Task Execution Service 1.1',
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST],
        allowHeaders: ['authorization', 'content-type'],
        maxAge: Duration.hours(1),
      },
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy: props.removalPolicy });
    const cfnStage = this.api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
    cfnStage.defaultRouteSettings = { throttlingRateLimit: 200, throttlingBurstLimit: 400 };
    cfnStage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        caller: '$context.authorizer.claims.sub',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
        errorMessage: '$context.error.message',
      }),
    };

    const fn = (name: string, entry: string) => {
      const created = tesFunction(this, name, { entry, environment, logRetentionDays: config.logRetentionDays, removalPolicy: props.removalPolicy, memorySize: 512 });
      this.functions.set(name, created);
      return created;
    };
    for (const route of ROUTES) {
      const handler = fn(route.endpoint.name, route.entry);
      for (const base of BASE_PATHS) {
        for (const [i, path] of routePaths(route).entries()) {
          // A static segment outranks `{id}` in API Gateway, so an alias under /tasks is not a task's path.
          this.api.addRoutes({
            path: `${base}${path}`,
            methods: [route.method === 'GET' ? apigwv2.HttpMethod.GET : apigwv2.HttpMethod.POST],
            integration: new HttpLambdaIntegration(`${route.endpoint.name}${base.replaceAll('/', '-')}${i === 0 ? '' : path.replaceAll('/', '-')}`, handler),
            ...(authorizer && !route.endpoint.public ? { authorizer } : {}),
          });
        }
      }
    }
    // service-info lists a caller's own storage when it can tell who calls.
    for (const [name, value] of Object.entries(publicTokens ?? {})) (this.functions.get('GetServiceInfo') as NodejsFunction).addEnvironment(name, value);
    // A running executor's output in GetTask's FULL view comes from its log stream (a ListTasks page
    // shows what the task records: 256 tasks' streams per page would be slow and throttled).
    const reader = this.functions.get('GetTask') as NodejsFunction;
    reader.addEnvironment('TES_EXECUTOR_LOG_GROUP', props.executorLogGroup.logGroupName);
    props.executorLogGroup.grant(reader, 'logs:GetLogEvents');
    // The page-token key is ListTasks' alone.
    (this.functions.get('ListTasks') as NodejsFunction).addEnvironment('TES_PAGE_TOKEN_SECRET', props.pageTokenSecret.secretValue.unsafeUnwrap());
    const notFound = fn(DEFAULT_ROUTE.endpoint.name, DEFAULT_ROUTE.entry);
    this.api.addRoutes({ path: '/{proxy+}', methods: [apigwv2.HttpMethod.ANY], integration: new HttpLambdaIntegration('NotFound', notFound) });

    // Each function gets exactly what it uses: items by key, the listing indexes, its own task objects.
    const get = (name: string) => this.functions.get(name) as NodejsFunction;
    allow(get('GetTask'), ['dynamodb:GetItem'], [table.tableArn]);
    allow(get('ListTasks'), ['dynamodb:BatchGetItem'], [table.tableArn]);
    allow(
      get('ListTasks'),
      ['dynamodb:Query'],
      [TASK_TABLE.indexes.byOwner.name, TASK_TABLE.indexes.byOwnerState.name, TASK_TABLE.indexes.all.name].map((i) => `${table.tableArn}/index/${i}`),
    );
    allow(get('CreateTask'), ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(get('CancelTask'), ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(get('GetTask'), ['s3:GetObject'], [bucket.arnForObjects('tasks/*')]);
    allow(get('ListTasks'), ['s3:GetObject'], [bucket.arnForObjects('tasks/*')]);
    allow(get('CreateTask'), ['s3:PutObject'], [bucket.arnForObjects('tasks/*')]);
    allow(get('CreateTask'), ['states:StartExecution'], [stateMachine.stateMachineArn]);
    const executions = Stack.of(this).formatArn({ service: 'states', resource: 'execution', resourceName: `${Stack.of(this).splitArn(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? ''}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    allow(get('CancelTask'), ['states:StopExecution'], [executions]);
    allow(get('CancelTask'), ['ecs:StopTask'], [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.cluster.clusterName}/*` })]);

    new CfnOutput(this, 'ApiUrl', { value: this.url, description: 'The TES base URL' });
  }

  /** The TES base URL (https://<api>.execute-api.<region>.amazonaws.com/ga4gh/tes/v1). */
  get url(): string {
    return `${this.api.apiEndpoint}/ga4gh/tes/v1`;
  }

  /** A further app client of the user pool (auth=cognito), whose tokens the API accepts as it does the first's. */
  addUserPoolClient(id: string, options: cognito.UserPoolClientOptions): cognito.UserPoolClient {
    if (this.userPool === undefined) throw new Error('the API has no user pool (auth is not cognito)');
    const client = this.userPool.addClient(id, options);
    this.audiences.push(client.userPoolClientId);
    return client;
  }
}
