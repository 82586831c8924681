/**
 * The bench's HTTP client, run in a worker thread so that it does not share the server's event
 * loop: `concurrency` connections kept alive, each sending its next request when the last one has
 * been answered in full, as 16 concurrent clients do.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

const { origin, requests, concurrency } = workerData;
const pool = new Pool(origin, { connections: concurrency });
const answers = new Array(requests.length);
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests.length) {
      const i = next++;
      const { path, method, body } = requests[i];
      const response = await pool.request({ path, method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${method} ${path} answered ${response.statusCode}: ${text}`);
      answers[i] = text;
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
await pool.close();
parentPort.postMessage({ seconds, answers });
