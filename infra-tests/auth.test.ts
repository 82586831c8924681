/**
 * Authentication in the local stack, as in the cloud (`TES_AUTH=jwt`): bearer JWTs verified for
 * signature, issuer, audience and expiry; every user sees only their own tasks.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesListTasksResponse, TesTask } from '../lambdas/domain/tes.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../lambdas/local/local-issuer.js';
import type { LocalStack } from '../lambdas/local/stack.js';
import { task } from './support/tasks.js';
import { TEST_IMAGE } from './support/test-image.js';
import { startTestStack } from './support/local-stack.js';

let stack: LocalStack;
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tes-auth-test-'));
  stack = await startTestStack({ port: 0, dataDir, auth: 'jwt' });
});
afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function call<T = unknown>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const sleeper = () => task({ executors: [{ image: TEST_IMAGE, command: ['sleep', '60'] }] });

describe('bearer tokens', () => {
  it("are required: no token is API Gateway's own 401 (its JWT authorizer answers, not the TES)", async () => {
    const reply = await call('GET', '/tasks');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ message: 'Unauthorized' });
  });

  it('are not needed for service-info', async () => {
    expect((await call('GET', '/service-info')).status).toBe(200);
  });

  it("open nothing beyond service-info at TES 1.0's /tasks/service-info: near paths answer no task to anyone", async () => {
    expect((await call('GET', '/tasks/service-info')).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/tasks/service-info'],
      ['POST', '/tasks/service-info:cancel'],
      ['GET', '/tasks/service-info/x'],
      ['GET', '/tasks/SERVICE-INFO'],
      ['GET', '/tasks/service-info%2F..'],
      ['GET', '/tasks/service-info?view=FULL&state=RUNNING'],
    ] as const) {
      const reply = await call<Record<string, unknown>>(method, path);
      // A path no route has is the open catch-all's 404; one under a task route is the authorizer's 401.
      if (path.startsWith('/tasks/service-info?')) expect(reply.status, `${method} ${path}`).toBe(200);
      else expect([401, 404], `${method} ${path}: ${reply.status}`).toContain(reply.status);
      expect(reply.body['state'], `${method} ${path}`).toBeUndefined();
    }
  });

  it("at TES 1.0's path list the caller's own storage only, and nobody's for a forged token", async () => {
    const alice = (await stack.issuer?.issue('alice')) as string;
    const bob = (await stack.issuer?.issue('bob')) as string;
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('alice').setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setExpirationTime('1h').sign(privateKey);
    const storage = async (path: string, token?: string) => (await call<{ storage: string[] }>('GET', path, token)).body.storage;
    expect(await storage('/tasks/service-info', alice)).toEqual(await storage('/service-info', alice));
    expect(await storage('/tasks/service-info', alice)).not.toEqual(await storage('/tasks/service-info', bob));
    expect(await storage('/tasks/service-info', forged)).toEqual(await storage('/tasks/service-info'));
  });

  it('must be signed by the issuer, for this audience, and not expired', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('mallory').setIssuer(LOCAL_ISSUER).setAudience(LOCAL_AUDIENCE).setExpirationTime('1h').sign(privateKey);
    expect((await call('GET', '/tasks', forged)).status).toBe(401);
    const issuer = stack.issuer;
    expect(issuer).toBeDefined();
    const expired = await issuer?.issue('alice', { ttlSeconds: -10 });
    expect((await call('GET', '/tasks', expired)).status).toBe(401);
    expect((await call('GET', '/tasks', 'not-a-jwt')).status).toBe(401);
    const alg = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const unsigned = `${alg}.${Buffer.from(JSON.stringify({ sub: 'mallory', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE })).toString('base64url')}.`;
    expect((await call('GET', '/tasks', unsigned)).status).toBe(401);
  });

  it('from `npm run token` are accepted', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/token.ts', 'cli-user'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, TES_DATA_DIR: dataDir },
    });
    expect((await call('GET', '/tasks', stdout.trim())).status).toBe(200);
  });
});

describe('isolation between users', () => {
  it("hides another user's tasks from get, cancel and every list", async () => {
    const alice = (await stack.issuer?.issue('alice')) as string;
    const bob = (await stack.issuer?.issue('bob')) as string;
    const created = await call<{ id: string }>('POST', '/tasks', alice, sleeper());
    expect(created.status).toBe(200);
    const id = created.body.id;
    expect((await call('GET', `/tasks/${id}`, alice)).status).toBe(200);
    const foreign = await call('GET', `/tasks/${id}?view=FULL`, bob);
    expect(foreign.status).toBe(404);
    expect((await call('POST', `/tasks/${id}:cancel`, bob)).status).toBe(404);
    expect((await call<TesTask>('GET', `/tasks/${id}`, alice)).body.state).not.toMatch(/CANCEL/);
    for (const query of ['', '?view=FULL', '?state=RUNNING', '?state=QUEUED', '?tag_key=run', '?name_prefix=']) {
      const list = await call<TesListTasksResponse>('GET', `/tasks${query}`, bob);
      expect(list.body.tasks.map((t) => t.id)).not.toContain(id);
    }
    expect((await call<TesListTasksResponse>('GET', '/tasks', alice)).body.tasks.map((t) => t.id)).toContain(id);
    await call('POST', `/tasks/${id}:cancel`, alice);
  });
});

describe('admins', () => {
  it("holding the admin claim (npm run token -- <subject> --admin) see and cancel every user's tasks", async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'scripts/token.ts', 'root', '--admin'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, TES_DATA_DIR: dataDir },
    });
    const admin = stdout.trim();
    const carol = (await stack.issuer?.issue('carol')) as string;
    const dan = (await stack.issuer?.issue('dan')) as string;
    const mallory = (await stack.issuer?.issue('mallory', { claims: { groups: ['tes-admins-not'], scope: 'tes-admins' } })) as string;
    const ofCarol = (await call<{ id: string }>('POST', '/tasks', carol, sleeper())).body.id;
    const ofDan = (await call<{ id: string }>('POST', '/tasks', dan, sleeper())).body.id;

    const listed = await call<TesListTasksResponse>('GET', '/tasks?page_size=2048', admin);
    expect(listed.body.tasks.map((t) => t.id)).toEqual(expect.arrayContaining([ofCarol, ofDan]));
    expect((await call<TesTask>('GET', `/tasks/${ofCarol}?view=FULL`, admin)).body.id).toBe(ofCarol);
    expect((await call('POST', `/tasks/${ofDan}:cancel`, admin)).status).toBe(200);
    const canceled = await call<TesTask>('GET', `/tasks/${ofDan}?view=FULL`, dan);
    expect(canceled.body.state).toMatch(/^CANCEL/);

    // A look-alike claim is not the admin claim, and a user never sees more than their own tasks.
    expect((await call('GET', `/tasks/${ofCarol}`, mallory)).status).toBe(404);
    expect((await call<TesListTasksResponse>('GET', '/tasks', mallory)).body.tasks).toEqual([]);
    // Groups whose names hold the admin group's name: through the authorizer's flattening they would read
    // like lists, but the claims are compared as the token carries them.
    for (const groups of [['lab tes-admins'], ['lab,tes-admins'], 'lab tes-admins', 'lab,tes-admins', '[tes-admins]']) {
      const lookalike = (await stack.issuer?.issue('mallory', { claims: { groups } })) as string;
      expect((await call('GET', `/tasks/${ofCarol}`, lookalike)).status, JSON.stringify(groups)).toBe(404);
    }
    expect((await call<TesListTasksResponse>('GET', '/tasks', carol)).body.tasks.map((t) => t.id)).not.toContain(ofDan);
    await call('POST', `/tasks/${ofCarol}:cancel`, carol);
  });
});
