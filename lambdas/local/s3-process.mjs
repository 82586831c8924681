/* global process */
// The local S3 (s3rver) in a process of its own, so that what tasks upload and download never
// competes with the TES API for its event loop: started by s3-local.ts over IPC, and gone with it.
import S3rver from 's3rver';

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
const { port } = await server.run();
process.send({ port });
process.on('disconnect', () => {
  void server.close().finally(() => process.exit(0));
});
