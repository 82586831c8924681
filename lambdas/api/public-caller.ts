/**
 * Who calls a public operation (service-info), in AWS: API Gateway runs no authorizer on a public
 * route, so a bearer token there is checked here, as the JWT authorizer would check it: the
 * issuer's keys (from its OpenID discovery document), the issuer, the audience (`aud`, or Cognito's
 * `client_id`) and the expiry (jose, not hand-rolled). A token that fails is ignored: the operation
 * answers as for anyone.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';

export type TokenVerifier = (token: string) => Promise<Record<string, unknown>>;

export function issuerVerifier(issuer: string, audiences: readonly string[]): TokenVerifier {
  let keys: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const discover = async () => {
    const response = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`the issuer's discovery document answered ${response.status}`);
    const { jwks_uri: uri } = (await response.json()) as { jwks_uri?: string };
    if (typeof uri !== 'string') throw new Error("the issuer's discovery document names no jwks_uri");
    return createRemoteJWKSet(new URL(uri));
  };
  return async (token) => {
    keys ??= discover().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    const { payload } = await jwtVerify(token, await keys, { issuer });
    const aud = (payload).aud;
    const given = [...(Array.isArray(aud) ? aud : aud === undefined ? [] : [aud]), ...(typeof payload['client_id'] === 'string' ? [payload['client_id']] : [])];
    if (!given.some((a) => audiences.includes(a))) throw new Error('the token is not for this service (audience)');
    return payload;
  };
}
