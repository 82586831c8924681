/**
 * The runtime image's content, built in one place for the cloud and the local stack: esbuild bundles
 * `main.ts` (stage-in and stage-out) into one ESM file, which the image's Dockerfile copies onto a
 * distroless Node.js base. CDK builds the image from a directory this prepares at synth, so a
 * deploy runs no npm install inside Docker and the image changes only when the bundle does; the
 * local stack runs the same bundle in its sandbox.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { BuildOptions } from 'esbuild';

// import.meta.dirname, not import.meta.url: npm start's bundle keeps the first pointing at the sources.
const ENTRY = join(import.meta.dirname, 'main.ts');
const DOCKERFILE = join(import.meta.dirname, 'Dockerfile');
/** The bundle's name, in the image directory and (at /opt/tes/) in the image. */
export const RUNTIME_BUNDLE = 'main.mjs';

function options(outfile: string): BuildOptions {
  return {
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    // ESM bundles of CommonJS dependencies (tar) need require() back.
    banner: { js: "import { createRequire as __r } from 'module'; const require = __r(import.meta.url);" },
    outfile,
    logLevel: 'silent',
  };
}

/** Bundles the runtime into `outfile`. */
export async function bundleRuntime(outfile: string): Promise<void> {
  // Loaded when first needed: the local stack bundles the runtime only once a task stages.
  const esbuild = await import('esbuild');
  await esbuild.build(options(outfile));
  // Its service process would otherwise live as long as the local stack.
  await esbuild.stop();
}

/** Fills `dir` with what the runtime image is built from (its Dockerfile and the bundle); returns `dir`. */
export function prepareRuntimeImage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  buildSync(options(join(dir, RUNTIME_BUNDLE)));
  copyFileSync(DOCKERFILE, join(dir, 'Dockerfile'));
  return dir;
}
