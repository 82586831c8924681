/**
 * `npm run token -- <subject>`: prints a bearer token from the local issuer of `TES_AUTH=jwt npm start`
 * (the key in TES_DATA_DIR, default ./.tes-data, created if it is not there yet).
 *   --ttl <seconds>  how long it is valid (default 12 hours)
 *   --admin          the token holds the admin claim (TES_ADMIN_CLAIM, default groups=tes-admins): it
 *                    sees and cancels every user's tasks
 */
import { resolve } from 'node:path';
import { adminClaims, parseAdminClaim } from '../lambdas/domain/caller.js';
import { localIssuer } from '../lambdas/local/local-issuer.js';
import { issuerKeyFile } from '../lambdas/local/stack.js';

const args = process.argv.slice(2);
let ttlSeconds: number | undefined;
let admin = false;
const subjects: string[] = [];
for (let i = 0; i < args.length; i += 1) {
  const arg = args[i] as string;
  if (arg === '--ttl') {
    ttlSeconds = Number(args[(i += 1)]);
    if (!(ttlSeconds > 0)) {
      console.error('--ttl needs a number of seconds');
      process.exit(2);
    }
  } else if (arg === '--admin') {
    admin = true;
  } else if (arg.startsWith('-')) {
    console.error(`unknown option ${arg}`);
    process.exit(2);
  } else {
    subjects.push(arg);
  }
}
if (subjects.length !== 1) {
  console.error('usage: npm run token -- <subject> [--ttl <seconds>] [--admin]');
  process.exit(2);
}
const issuer = await localIssuer(issuerKeyFile(resolve(process.env['TES_DATA_DIR'] ?? '.tes-data')));
let claims: Record<string, string[]> = {};
if (admin) {
  const claim = parseAdminClaim(process.env['TES_ADMIN_CLAIM']);
  if (claim === undefined) {
    console.error('TES_ADMIN_CLAIM is none: there is no admin claim to put in the token');
    process.exit(2);
  }
  claims = adminClaims(claim);
}
console.log(await issuer.issue(subjects[0] as string, { claims, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) }));
