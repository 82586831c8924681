/**
 * The CDK app: `npx cdk deploy --all`. Two stacks: the stateful one (task table, service bucket) and
 * the service. cdk-nag's AwsSolutions checks run on both; every suppression carries its reason.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.js';
import { suppressWithReasons } from './nag-suppressions.js';
import { TesServiceStack } from './service-stack.js';
import { TesStatefulStack } from './stateful-stack.js';

export function buildApp(app: App): { stateful: TesStatefulStack; service: TesServiceStack } {
  const config = readConfig((key) => app.node.tryGetContext(key) as unknown);
  const env = { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] };
  const stateful = new TesStatefulStack(app, 'TesData', config, { env, description: 'Serverless TES: task table and service bucket' });
  const service = new TesServiceStack(app, 'TesService', { env, config, table: stateful.table, bucket: stateful.bucket, description: 'Serverless TES: API, workflow, executors' });
  suppressWithReasons(stateful, service);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { stateful, service };
}

if (process.argv[1]?.endsWith('app.ts')) {
  const app = new App();
  buildApp(app);
  app.synth();
}
