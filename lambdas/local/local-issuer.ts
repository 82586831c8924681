/**
 * The local stack's token issuer, for `TES_AUTH=jwt npm start`: an ES256 key created on first start
 * (kept in the data directory), tokens for it from `npm run token`, and verification the way API
 * Gateway's JWT authorizer does it: signature, issuer, audience, expiry (jose, not hand-rolled).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

export const LOCAL_ISSUER = 'urn:serverless-tes:local-issuer';
export const LOCAL_AUDIENCE = 'tes';
const ALGORITHM = 'ES256';

export interface LocalIssuer {
  issue(subject: string, options?: { ttlSeconds?: number; claims?: Record<string, unknown> }): Promise<string>;
  /** The verified claims, or throws. */
  verify(token: string): Promise<JWTPayload>;
}

/** Loads the key from `file`, creating it (mode 0600) on first use. */
export async function localIssuer(file: string): Promise<LocalIssuer> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch {
    const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    jwk = await exportJWK(privateKey);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
  }
  const privateKey = await importJWK(jwk, ALGORITHM);
  const publicJwk: JWK = { ...jwk };
  delete publicJwk.d;
  const publicKey = await importJWK(publicJwk, ALGORITHM);
  return {
    issue: (subject, options = {}) =>
      new SignJWT({ ...options.claims })
        .setProtectedHeader({ alg: ALGORITHM })
        .setSubject(subject)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.ttlSeconds ?? 12 * 3600}s`)
        .sign(privateKey),
    verify: async (token) => (await jwtVerify(token, publicKey, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, algorithms: [ALGORITHM] })).payload,
  };
}
