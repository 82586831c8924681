/**
 * service-info in AWS: its route has no authorizer, so the function checks a bearer token itself,
 * against the issuer's published keys, as API Gateway's JWT authorizer checks the others. Proven
 * against a real OpenID discovery document and JWKS served on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageTokens } from '../domain/page-token.js';
import { MemoryObjects } from '../testing/memory-objects.js';
import { apiEvent, lambdaContext } from '../testing/events.js';
import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from './http.js';
import { issuerVerifier } from './public-caller.js';
import { getServiceInfo } from './service-info.js';
import type { Wiring } from './wiring.js';

let server: Server;
let issuer: string;
let key: CryptoKey;
let strangerKey: CryptoKey;
let wiring: Wiring;
const objects = new MemoryObjects();

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  ({ privateKey: strangerKey } = await generateKeyPair('ES256'));
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }));
    else if (req.url === '/jwks.json') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  wiring = {
    deps: {
      store: undefined as never,
      workflow: undefined as never,
      objects,
      clock: { now: () => new Date() },
      ids: { next: () => 'unused' },
      pageTokens: new PageTokens(Buffer.alloc(32, 1)),
      serviceInfo: { id: 'x', name: 'x', organization: { name: 'o', url: 'https://o' }, version: '1' },
    },
    caller: { verifyPublic: issuerVerifier(issuer, ['tes-client']) },
  };
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function storageWith(token: string | undefined): Promise<unknown> {
  const event = apiEvent('GET', '/ga4gh/tes/v1/service-info');
  if (token !== undefined) event.headers['authorization'] = `Bearer ${token}`;
  const handler = getServiceInfo.handler(() => wiring) as unknown as (e: ApiEvent, c: Context) => Promise<ApiResult>;
  const result = await handler(event, lambdaContext());
  return (JSON.parse(result.body ?? 'null') as { storage: unknown }).storage;
}

const sign = (claims: Record<string, unknown>, options: { with?: CryptoKey; iss?: string; exp?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(options.iss ?? issuer)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m')
    .sign(options.with ?? key);

describe('service-info behind no authorizer', () => {
  it("lists a verified caller's own prefix, for an ID token (aud) and a Cognito access token (client_id)", async () => {
    expect(await storageWith(await sign({ sub: 'ann', aud: 'tes-client' }))).toEqual([`s3://${objects.bucket}/users/ann/`]);
    expect(await storageWith(await sign({ sub: 'ann', client_id: 'tes-client', token_use: 'access' }))).toEqual([`s3://${objects.bucket}/users/ann/`]);
  });

  it('answers as for anyone to no token, a forged one, another issuer’s, another audience’s or an expired one', async () => {
    const anyone = [`s3://${objects.bucket}/users/{owner}/`];
    expect(await storageWith(undefined)).toEqual(anyone);
    expect(await storageWith(await sign({ sub: 'ann', aud: 'tes-client' }, { with: strangerKey }))).toEqual(anyone);
    expect(await storageWith(await sign({ sub: 'ann', aud: 'tes-client' }, { iss: 'https://elsewhere.example' }))).toEqual(anyone);
    expect(await storageWith(await sign({ sub: 'ann', aud: 'another-app' }))).toEqual(anyone);
    expect(await storageWith(await sign({ sub: 'ann', aud: 'tes-client' }, { exp: '-1m' }))).toEqual(anyone);
    expect(await storageWith('not.a.token')).toEqual(anyone);
  });
});
