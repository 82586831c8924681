/**
 * The local stack as the suites start it: the runtime TES_LOCAL_RUNTIME names (or the best one here),
 * the test image built into it when it is a container runtime, the admission allowlist naming
 * that image's registry, and storage rules for the example buckets the spec's own examples name
 * (TEST_STORAGE_RULES), as an operator would run it.
 */
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../lambdas/local/stack.js';
import { requestedRuntime } from '../../lambdas/local/runtimes.js';
import { ensureTestImage, TEST_IMAGE_PREFIXES } from './test-image.js';

/** The spec's examples and the API tests name these buckets: an operator would allow them with rules like these. */
export const TEST_STORAGE_RULES = 's3://my-object-store/=readwrite,s3://some-bucket/=readwrite';

export async function startTestStack(options: LocalStackOptions): Promise<LocalStack> {
  const runtime = options.env?.['TES_LOCAL_RUNTIME'] ?? process.env['TES_LOCAL_RUNTIME'];
  const env = {
    TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES,
    TES_STORAGE_RULES: TEST_STORAGE_RULES,
    ...(runtime === undefined ? {} : { TES_LOCAL_RUNTIME: runtime }),
    // The task store npm start picks for a new data directory, unless the suite names one.
    TES_LOCAL_STORE: process.env['TES_LOCAL_STORE'] ?? 'sqlite',
    ...options.env,
  };
  const stack = await startLocalStack({ ...options, env });
  const kind = requestedRuntime(env) ?? (await stack.runtime).sandbox;
  if (options.workflow === undefined && (kind === 'podman' || kind === 'docker')) {
    try {
      await ensureTestImage(kind);
    } catch (error) {
      await stack.close();
      throw error;
    }
  }
  return stack;
}
