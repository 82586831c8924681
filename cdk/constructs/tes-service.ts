/**
 * TesService: the whole serverless TES on a task table and a service bucket. Other CDK apps can
 * import it (see the README); this project's own service stack is just this construct.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as guardduty from 'aws-cdk-lib/aws-guardduty';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { TesConfig } from '../config.js';
import { WebDashboard } from './dashboard.js';
import { ExecutorCluster } from './executor-cluster.js';
import { TaskWorkflow } from './task-workflow.js';
import { TesApi } from './tes-api.js';

export interface TesServiceProps {
  config: TesConfig;
  table: dynamodb.ITableV2;
  bucket: s3.IBucket;
}

export class TesService extends Construct {
  readonly api: TesApi;
  readonly workflow: TaskWorkflow;
  readonly executors: ExecutorCluster;
  /** The web dashboard, with `-c dashboard=true`. */
  readonly dashboard?: WebDashboard;

  constructor(scope: Construct, id: string, props: TesServiceProps) {
    super(scope, id);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const secret = (name: string, description: string) =>
      new secretsmanager.Secret(this, name, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      });
    const pageTokenSecret = secret('PageTokenKey', 'Signs ListTasks page tokens');
    const stagingSecret = secret('StagingKey', 'Signs per-run staging capabilities');

    this.executors = new ExecutorCluster(this, 'Executors', { config, bucket: props.bucket, removalPolicy });
    this.workflow = new TaskWorkflow(this, 'Workflow', { config, table: props.table, bucket: props.bucket, executors: this.executors, stagingSecret, removalPolicy });
    this.api = new TesApi(this, 'Api', { config, table: props.table, bucket: props.bucket, stateMachine: this.workflow.stateMachine, cluster: this.executors.cluster, pageTokenSecret, executorLogGroup: this.executors.logGroup, removalPolicy });
    if (config.dashboard !== undefined) this.dashboard = new WebDashboard(this, 'WebDashboard', { config, settings: config.dashboard, api: this.api, removalPolicy });

    if (config.guardDuty) {
      new guardduty.CfnDetector(this, 'RuntimeMonitoring', {
        enable: true,
        features: [{ name: 'RUNTIME_MONITORING', status: 'ENABLED', additionalConfiguration: [{ name: 'ECS_FARGATE_AGENT_MANAGEMENT', status: 'ENABLED' }] }],
      });
    }

    const topic = new sns.Topic(this, 'Alarms', { enforceSSL: true });
    if (config.alarmEmail !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    const alarm = (name: string, metric: cloudwatch.IMetric, description: string) => {
      const created = new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new actions.SnsAction(topic));
      return created;
    };
    alarm('FailedExecutions', this.workflow.stateMachine.metricFailed({ period: Duration.minutes(5) }), 'Task workflows failed (tasks ended SYSTEM_ERROR)');
    // An alarm may combine at most 10 metrics: one for the API's handlers, one for the workflow's.
    const errorsOf = (prefix: string, label: string, functions: NodejsFunction[]) =>
      new cloudwatch.MathExpression({
        expression: functions.map((_, i) => `${prefix}${i}`).join('+'),
        usingMetrics: Object.fromEntries(functions.map((f, i) => [`${prefix}${i}`, f.metricErrors({ period: Duration.minutes(5) })])),
        period: Duration.minutes(5),
        label,
      });
    const apiErrors = errorsOf('api', 'API handler errors', [...this.api.functions.values()]);
    const workflowErrors = errorsOf('wf', 'Workflow handler errors', this.workflow.functions);
    alarm('ApiHandlerErrors', apiErrors, 'A TES API handler failed');
    alarm('WorkflowHandlerErrors', workflowErrors, 'A task workflow handler failed');
    alarm('Api5xx', this.api.api.metricServerError({ period: Duration.minutes(5) }), 'The TES API answered 5xx');

    new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-tes`,
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'API requests and errors', left: [this.api.api.metricCount(), this.api.api.metricClientError(), this.api.api.metricServerError()] }),
          new cloudwatch.GraphWidget({ title: 'Task workflows', left: [this.workflow.stateMachine.metricStarted(), this.workflow.stateMachine.metricSucceeded(), this.workflow.stateMachine.metricFailed()] }),
        ],
        [new cloudwatch.GraphWidget({ title: 'Handler errors', left: [apiErrors, workflowErrors] })],
      ],
    });
  }
}
