/** The cdk-nag findings this design accepts, each with the reason (and, where it helps, exactly what it applies to). */
import type { Stack } from 'aws-cdk-lib';
import { NagSuppressions } from 'cdk-nag';
import { WebDashboard } from './constructs/dashboard.js';

const regex = (pattern: string) => ({ regex: `/${pattern}/g` });

export function suppressWithReasons(stateful: Stack, service: Stack): void {
  NagSuppressions.addStackSuppressions(stateful, [
    {
      id: 'AwsSolutions-S1',
      reason: 'The access-log bucket is itself the destination of the service bucket’s server access logs; logging it again would recurse.',
    },
    { id: 'AwsSolutions-IAM4', reason: 'CDK’s auto-delete helper (used only with removalPolicy=destroy) runs with the AWS-managed basic Lambda execution role.' },
    { id: 'AwsSolutions-IAM5', reason: 'CDK’s auto-delete helper empties exactly this bucket.', appliesTo: [regex('^Action::s3:.*'), regex('^Resource::.*')] },
  ]);
  NagSuppressions.addStackSuppressions(service, [
    {
      id: 'AwsSolutions-L1',
      reason: 'Node.js 22 (nodejs22.x) is the runtime the project builds, runs its local stack and tests on; moving to a newer runtime is a deliberate change of all three.',
    },
    {
      id: 'AwsSolutions-IAM4',
      reason: 'Only AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole-style managed policies CDK attaches for logging of its own helper functions.',
    },
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords, ECR GetAuthorizationToken, ECS RegisterTaskDefinition/DescribeTaskDefinition/TagResource.',
      appliesTo: ['Resource::*'],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Task objects (large content, staging reports, carried volumes, logs) are keyed by task id under tasks/, unknown until a task exists.',
      appliesTo: [
        regex('^Resource::<ServiceBucket.*\\.Arn>\\/tasks\\/\\*$'),
        regex('^Resource::.*ServiceBucket.*tasks\\/\\*$'),
        // Record writes only the log objects of runs: tasks/<task id>/runs/<executor>/log.json.
        regex('^Resource::.*ServiceBucket.*tasks\\/\\*\\/runs\\/\\*\\/log\\.json$'),
      ],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: "Users' own prefixes (users/<owner key>/) are named by the users' tasks; the broker checks each key against its task owner's prefix before it signs.",
      appliesTo: [regex('^Resource::<ServiceBucket.*\\.Arn>\\/users\\/\\*$'), regex('^Resource::.*ServiceBucket.*users\\/\\*$')],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Executor task definitions are registered at run time (one per image and layout, family tes-<hash>), and the tasks run from them are only known once started.',
      appliesTo: [regex('^Resource::arn:(aws|<AWS::Partition>):ecs:.*:task-definition\\/tes-\\*$'), regex('^Resource::arn:(aws|<AWS::Partition>):ecs:.*:task\\/.*\\/\\*$')],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Executor images are the users’ choice within the admission allowlist: the execution role may pull from the repositories it names in ECR (any of this account without one), and nothing else.',
      appliesTo: [regex('^Resource::arn:aws:ecr:.*:repository\\/.*\\*$')],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Executions of this state machine are named by task id; functions may describe or stop exactly those.',
      appliesTo: [regex('^Resource::.*:execution:.*:\\*$')],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Step Functions invokes exactly these four workflow functions (any version).',
      appliesTo: [regex('^Resource::<TesWorkflow(Prepare|Record|Finalize|RecordFailure)[A-Z0-9]+\\.Arn>:\\*$')],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Objects under the prefixes of the operator’s storage rules are the tasks’ inputs and outputs, named by the users; the broker checks each key against its task owner’s scopes.',
      appliesTo: [regex('^Resource::arn:aws:s3:::[^/]+\\/.*\\*$')],
    },
    {
      id: 'AwsSolutions-APIG4',
      reason:
        'Public by design: GET service-info (the spec’s discovery endpoint) and the catch-all 404 route. The staging broker is a private API reachable only through the VPC endpoint, and every call needs a signed staging token.',
    },
    {
      id: 'AwsSolutions-COG2',
      reason: 'MFA (TOTP) is offered but optional: workflow engines sign in without a person present. Operators who need it can require it on the pool.',
    },
    { id: 'AwsSolutions-APIG3', reason: 'The only REST API is the private staging broker, reachable only through the VPC endpoint; a WAF adds nothing there.' },
    { id: 'AwsSolutions-COG4', reason: 'The staging broker is called by our runtime containers with a staging token, not by users.' },
    { id: 'AwsSolutions-APIG2', reason: 'The staging broker validates every request itself (token, then each requested path against the task).' },
    {
      id: 'AwsSolutions-SMG4',
      reason: 'Signing keys for page tokens and staging capabilities: rotating them would invalidate tokens of running tasks and clients mid-walk; rotate by redeploying.',
    },
  ]);
  const dashboard = service.node.findAll().find((construct): construct is WebDashboard => construct instanceof WebDashboard);
  if (dashboard !== undefined) suppressDashboard(service, dashboard);
}

/** The web dashboard's (-c dashboard=true): each finding on exactly the resource it is about. */
function suppressDashboard(service: Stack, dashboard: WebDashboard): void {
  NagSuppressions.addResourceSuppressions(dashboard.logs, [
    { id: 'AwsSolutions-S1', reason: 'This bucket is itself the destination of the dashboard’s access logs (CloudFront’s and the site bucket’s); logging it again would recurse.' },
  ]);
  NagSuppressions.addResourceSuppressions(dashboard.distribution, [
    {
      id: 'AwsSolutions-CFR1',
      reason: 'The dashboard is static files that hold no data; who may see which task is decided by the API for each token, wherever the user is.',
    },
    {
      id: 'AwsSolutions-CFR2',
      reason: 'The distribution serves only the dashboard’s static files (GET and HEAD, cached); the API it calls has its own throttling and JWT authorizer.',
    },
    {
      id: 'AwsSolutions-CFR4',
      reason: 'The distribution uses CloudFront’s default *.cloudfront.net certificate, whose minimum protocol CloudFront sets; a custom domain with its own certificate is how to require TLS 1.2.',
    },
  ]);
  // CDK's BucketDeployment handler: one function per stack, which copies the built page into the site bucket.
  const deployer = service.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (deployer === undefined) return;
  NagSuppressions.addResourceSuppressions(
    deployer,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'CDK’s BucketDeployment reads the page’s asset from the CDK assets bucket and replaces the site bucket’s objects (whose keys are the build’s files).',
        appliesTo: [
          'Action::s3:GetObject*',
          'Action::s3:GetBucket*',
          'Action::s3:List*',
          'Action::s3:DeleteObject*',
          'Action::s3:Abort*',
          // The bootstrap's assets bucket, cdk-<qualifier>-assets-<account>-<region> (concrete when the app names them).
          regex('^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[^/]+\\/\\*$'),
          regex('^Resource::<TesWebDashboardSite[A-Z0-9]+\\.Arn>\\/\\*$'),
        ],
      },
      { id: 'AwsSolutions-IAM5', reason: 'CloudFront invalidations: CDK’s BucketDeployment grants CreateInvalidation and GetInvalidation on any distribution.', appliesTo: ['Resource::*'] },
      { id: 'AwsSolutions-L1', reason: 'CDK’s BucketDeployment handler (Python); its runtime is CDK’s choice and moves with aws-cdk-lib.' },
    ],
    true,
  );
}
