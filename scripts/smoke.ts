/**
 * `npm run smoke -- <ApiUrl> [--token <JWT>] [--image <image>] [--timeout-minutes <n>]`: the smoke
 * checks (infra-tests/smoke.test.ts) against any deployed TES. `--image` must be an image the
 * deployment admits and can pull (with the default egress, one in ECR of its account).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const args = process.argv.slice(2);
const url = args.find((a) => !a.startsWith('--') && !['--token', '--image', '--timeout-minutes'].includes(args[args.indexOf(a) - 1] ?? ''));
const option = (name: string) => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
};
if (url === undefined || !/^https?:\/\//.test(url)) {
  console.error('usage: npm run smoke -- <ApiUrl, e.g. https://…/ga4gh/tes/v1> [--token <JWT>] [--image <image>] [--timeout-minutes <n>]');
  process.exit(2);
}
const token = option('--token') ?? process.env['TES_TOKEN'];
const image = option('--image');
const minutes = Number(option('--timeout-minutes') ?? 10);
const root = join(import.meta.dirname, '..');
const env = {
  ...process.env,
  TES_URL: url.replace(/\/+$/, ''),
  ...(token ? { TES_TOKEN: token } : {}),
  ...(image ? { TES_SMOKE_IMAGE: image } : {}),
  TES_SMOKE_TIMEOUT_MS: String(minutes * 60_000),
};
const result = spawnSync('npx', ['vitest', 'run', 'infra-tests/smoke.test.ts'], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
