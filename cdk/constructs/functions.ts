/** One way to build every Lambda function: NodejsFunction, esbuild-minified ESM, arm64, Node.js 22, JSON logs, X-Ray. */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

/**
 * Packages every function's bundle takes from this repository instead: the SDK's default credential
 * chain becomes the environment's credentials, the only source that answers in Lambda
 * (lambdas/adapters/lambda-credentials.ts).
 */
export const LAMBDA_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': join(REPO_ROOT, 'lambdas', 'adapters', 'lambda-credentials.ts'),
};

/** ESM bundles of CommonJS dependencies need require() back. */
const REQUIRE_BANNER = "import { createRequire as __tesRequire } from 'module'; const require = __tesRequire(import.meta.url);";

/**
 * How every function is bundled, as esbuild options: what NodejsFunction is given below, and what
 * the benchmark and the bundle tests build with, so that they measure what is deployed.
 */
export const LAMBDA_ESBUILD = {
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  alias: { ...LAMBDA_ALIASES },
  banner: { js: REQUIRE_BANNER },
} satisfies BuildOptions;

export interface FunctionOptions {
  /** Source file relative to the repository root. */
  entry: string;
  handler?: string;
  environment: Record<string, string>;
  logRetentionDays: number;
  memorySize?: number;
  timeout?: Duration;
  removalPolicy: RemovalPolicy;
}

export function tesFunction(scope: Construct, id: string, options: FunctionOptions): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: options.logRetentionDays as logs.RetentionDays,
    removalPolicy: options.removalPolicy,
  });
  const fn = new NodejsFunction(scope, id, {
    entry: join(REPO_ROOT, options.entry),
    handler: options.handler ?? 'handler',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize ?? 512,
    timeout: options.timeout ?? Duration.seconds(29),
    tracing: lambda.Tracing.ACTIVE,
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_LOG_LEVEL: 'INFO', ...options.environment },
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    projectRoot: REPO_ROOT,
    bundling: {
      minify: LAMBDA_ESBUILD.minify,
      sourceMap: true,
      format: OutputFormat.ESM,
      target: LAMBDA_ESBUILD.target,
      mainFields: LAMBDA_ESBUILD.mainFields,
      banner: REQUIRE_BANNER,
      externalModules: [],
      esbuildArgs: Object.fromEntries(Object.entries(LAMBDA_ALIASES).map(([from, to]) => [`--alias:${from}`, to])),
      forceDockerBundling: false,
    },
  });
  // Which source the function runs, in the template: the role test derives its AWS calls from it.
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata(SOURCE_METADATA, `${options.entry}#${options.handler ?? 'handler'}`);
  return fn;
}

/** The template metadata key naming a function's source (`<entry>#<export>`). */
export const SOURCE_METADATA = 'tes:source';

/** Adds one least-privilege statement to a function's role. */
export function allow(fn: NodejsFunction, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
}
