/**
 * The entry point of our runtime image's two containers, `stage-in` and `stage-out` (phase.ts).
 * The task's volumes are mounted at their container paths, so no path mapping is needed.
 */
import { runPhase } from './phase.js';

/** The runtime containers' own volume (task ephemeral storage), never mounted in the executor. */
const SCRATCH_DIR = '/tes-scratch';

runPhase(process.argv[2], process.env, { scratchDir: SCRATCH_DIR }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(2);
  },
);
