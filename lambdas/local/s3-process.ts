/**
 * The local S3 (s3rver) in a process of its own, so that what tasks upload and download never
 * competes with the TES API for its event loop: started by s3-local.ts over IPC, and gone with it.
 * Every request must be signed with the stack's key (sent over IPC, never on a command line), in
 * a header or as a presigned URL, and no bucket or key may hold a `.` or `..` segment: s3rver
 * itself checks neither, and keeps objects as files under the data directory.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
import { keyEscapes, signatureProblem, type Credentials } from './sigv4.js';

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<&>]/g, '')}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml' }).end(xml);
}

const [directory, bucket] = process.argv.slice(2);
const credentials = await new Promise<Credentials>((resolve) => process.once('message', (message) => resolve(message as Credentials)));
// s3rver knows one fixed key of its own (S3RVER); it gets this stack's key instead.
AWSAccount.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
const s3rver = new S3rver({ directory, silent: true, configureBuckets: [{ name: bucket as string, configs: [] }] });
await s3rver.configureBuckets();
const handle = s3rver.callback();
const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (keyEscapes(url)) return refuse(res, 400, 'InvalidArgument', "a bucket or key may not hold '.' or '..' segments here");
  const problem = signatureProblem({ method: req.method ?? 'GET', url, headers: req.headers }, credentials, new Date());
  if (problem !== undefined) return refuse(res, 403, 'AccessDenied', problem);
  handle(req, res);
});
// The stack owns the port: it hands over the connections that came while this process started,
// then the listening socket itself.
process.on('message', (message: { listen?: boolean; connection?: boolean }, handle: unknown) => {
  if (message.listen === true) server.listen(handle as Server);
  else if (message.connection === true) server.emit('connection', handle as Socket);
});
process.send?.({ ready: true });
process.on('disconnect', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
