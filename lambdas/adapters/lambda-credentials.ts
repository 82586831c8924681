/**
 * The AWS SDK's default credential chain as a Lambda function's bundle holds it (an esbuild alias
 * of @aws-sdk/credential-provider-node: cdk/constructs/functions.ts, LAMBDA_ALIASES): the function's
 * role credentials, which Lambda puts in the environment. The chain's other sources (profiles, SSO,
 * web identity, process, the instance metadata service) never answer in Lambda, and weighed some
 * 90 KB of every bundle, parsed at every cold start.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> => fromEnv(init);
