/**
 * What every function's bundle holds, built as they are deployed (LAMBDA_ESBUILD, with its aliases):
 * the SDK clients take the role credentials Lambda puts in the environment, and none of the default
 * chain's other sources (profiles, SSO, web identity, process, instance metadata) is bundled; an
 * API function carries the AWS clients its own operation uses, not the others'; and CreateTask
 * carries ajv's generated validators, not ajv.
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ESBUILD, REPO_ROOT } from '../../cdk/constructs/functions.js';

async function inputsOf(entry: string): Promise<string[]> {
  const result = await build({ ...LAMBDA_ESBUILD, entryPoints: [join(REPO_ROOT, entry)], write: false, metafile: true, outfile: 'bundle.mjs', logLevel: 'silent' });
  // What the bundle holds: the inputs that left code in it (tree-shaking drops unused imports).
  const [output] = Object.values(result.metafile.outputs);
  return Object.entries(output?.inputs ?? {})
    .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
    .map(([path]) => path);
}

const packages = (inputs: string[]): Set<string> =>
  new Set(inputs.map((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1]).filter((name): name is string => name !== undefined));

describe("the functions' bundles", () => {
  it('take credentials from the environment only', async () => {
    for (const entry of ['lambdas/api/get-task.ts', 'lambdas/workflow/lambda.ts', 'lambdas/workflow/broker-lambda.ts']) {
      const inputs = await inputsOf(entry);
      const held = packages(inputs);
      expect(inputs.some((path) => path.endsWith('lambdas/adapters/lambda-credentials.ts')), entry).toBe(true);
      for (const source of ['credential-provider-node', 'credential-provider-ini', 'credential-provider-sso', 'credential-provider-web-identity', 'credential-provider-process', 'nested-clients']) {
        expect(held.has(`@aws-sdk/${source}`), `${entry} holds @aws-sdk/${source}`).toBe(false);
      }
    }
  }, 60_000);

  it("carry only the AWS clients their own operation uses", async () => {
    const clients = async (entry: string): Promise<string[]> => [...packages(await inputsOf(entry))].filter((name) => name.startsWith('@aws-sdk/client-')).sort();
    expect(await clients('lambdas/api/list-tasks.ts')).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/client-s3']);
    expect(await clients('lambdas/api/cancel-task.ts')).toEqual(['@aws-sdk/client-dynamodb', '@aws-sdk/client-ecs', '@aws-sdk/client-sfn']);
    expect(await clients('lambdas/api/service-info.ts')).toEqual(['@aws-sdk/client-dynamodb']);
    expect(await clients('lambdas/api/get-task.ts')).toEqual(['@aws-sdk/client-cloudwatch-logs', '@aws-sdk/client-dynamodb', '@aws-sdk/client-s3']);
    // Only the reconciler, of the workflow's functions, talks to Step Functions.
    expect(await clients('lambdas/workflow/lambda.ts')).not.toContain('@aws-sdk/client-sfn');
    expect(await clients('lambdas/workflow/reconcile-lambda.ts')).toContain('@aws-sdk/client-sfn');
  }, 60_000);

  it('validate a task with code ajv generated ahead of time, not with ajv itself', async () => {
    const held = packages(await inputsOf('lambdas/api/create-task.ts'));
    expect([...held].filter((name) => name.startsWith('ajv') || name === 'fast-uri')).toEqual([]);
  }, 60_000);
});
