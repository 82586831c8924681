/**
 * The local stack as the suites start it: the runtime TES_LOCAL_RUNTIME names (or the best one here),
 * the test image built into it when it is a container runtime, and the admission allowlist naming
 * that image's registry, as an operator would run it.
 */
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../lambdas/local/stack.js';
import { requestedRuntime } from '../../lambdas/local/runtimes.js';
import { ensureTestImage, TEST_IMAGE_PREFIXES } from './test-image.js';

export async function startTestStack(options: LocalStackOptions): Promise<LocalStack> {
  const runtime = options.env?.['TES_LOCAL_RUNTIME'] ?? process.env['TES_LOCAL_RUNTIME'];
  const env = {
    TES_ALLOWED_IMAGE_PREFIXES: TEST_IMAGE_PREFIXES,
    ...(runtime === undefined ? {} : { TES_LOCAL_RUNTIME: runtime }),
    ...options.env,
  };
  const stack = await startLocalStack({ ...options, env });
  const kind = requestedRuntime(env) ?? stack.sandbox;
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
