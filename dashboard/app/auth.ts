/**
 * Who the page calls the API as. Either a bearer token the user pastes, or OpenID Connect's
 * Authorization Code flow with PKCE (S256): the browser goes to the issuer's authorize endpoint with
 * a random `state` and the challenge of a random verifier, comes back with a code, and the page
 * trades the code and the verifier for tokens at the token endpoint. No client secret exists.
 * Tokens are kept in sessionStorage (this tab only, gone when it closes), never in localStorage.
 */
import type { DashboardConfig } from '../site.js';

const SESSION_KEY = 'tes-dashboard.session';
const PENDING_KEY = 'tes-dashboard.sign-in';
/** How long a sign-in may take at the issuer before its answer is refused. */
const PENDING_MS = 10 * 60_000;
/** A token this close to expiry counts as expired: calls made with it would be refused midway. */
const EXPIRY_MARGIN_MS = 10_000;

export interface Session {
  /** What the API is called with. */
  token: string;
  /** Epoch milliseconds, when known. */
  expiresAt?: number;
  /** The OIDC ID token, for signing out at the issuer. */
  idToken?: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  redirectUri: string;
  startedAt: number;
  /** The page's route when sign-in began, restored after. */
  hash: string;
}

/** A sign-in that failed, with what to tell the user. */
export class SignInError extends Error {
  override name = 'SignInError';
}

/** The claims of a JWT, read without checking it (for display and expiry only: the API checks tokens). */
export function claimsOf(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const binary = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as unknown;
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Who a token names, for the header: its e-mail, user name or subject. */
export function whoIs(token: string): string | undefined {
  const claims = claimsOf(token) ?? {};
  for (const name of ['email', 'cognito:username', 'preferred_username', 'username', 'sub']) {
    const value = claims[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/** The session of this tab, unless there is none or its token has expired. */
export function currentSession(): Session | undefined {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    if (session === null || typeof session.token !== 'string' || session.token === '') return undefined;
    if (session.expiresAt !== undefined && session.expiresAt - EXPIRY_MARGIN_MS < Date.now()) {
      sessionStorage.removeItem(SESSION_KEY);
      return undefined;
    }
    return session;
  } catch {
    return undefined;
  }
}

function keep(session: Session): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** Forgets this tab's token (and any sign-in under way). */
export function forget(): void {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(PENDING_KEY);
}

/** Keeps a pasted token (a leading `Bearer ` is dropped); its `exp`, when it has one, ends the session. */
export function usePastedToken(text: string): void {
  const token = text.trim().replace(/^Bearer\s+/i, '');
  if (!/^[\x21-\x7e]+$/.test(token)) throw new SignInError('a token is one word of printable characters');
  const exp = claimsOf(token)?.['exp'];
  keep(typeof exp === 'number' ? { token, expiresAt: exp * 1000 } : { token });
}

interface Endpoints {
  authorize: string;
  token: string;
  logout?: string;
  /** Cognito's /logout (given in config.json) takes logout_uri; an issuer's end_session_endpoint takes post_logout_redirect_uri. */
  logoutStyle: 'cognito' | 'oidc';
}

/** An endpoint URL from config.json or a discovery document: https, or http on this machine. */
function endpoint(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new SignInError(`the sign-in configuration names no ${what}`);
  const url = new URL(value);
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw new SignInError(`the ${what} must be an https URL`);
  return url.href;
}

let discovered: Promise<Endpoints> | undefined;

/** The issuer's endpoints: those config.json names, the rest from the issuer's discovery document. */
function endpoints(config: DashboardConfig): Promise<Endpoints> {
  discovered ??= (async () => {
    let document: Record<string, unknown> = {};
    if (config.authorizeUrl === undefined || config.tokenUrl === undefined) {
      if (config.issuer === undefined) throw new SignInError('config.json names neither the issuer nor its authorize and token URLs');
      const response = await fetch(`${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { credentials: 'omit' });
      if (!response.ok) throw new SignInError(`the issuer's discovery document answered ${response.status}`);
      document = (await response.json()) as Record<string, unknown>;
    }
    const logout = config.logoutUrl ?? document['end_session_endpoint'];
    return {
      authorize: endpoint(config.authorizeUrl ?? document['authorization_endpoint'], 'authorize endpoint'),
      token: endpoint(config.tokenUrl ?? document['token_endpoint'], 'token endpoint'),
      ...(logout === undefined ? {} : { logout: endpoint(logout, 'logout endpoint') }),
      logoutStyle: config.logoutUrl === undefined ? 'oidc' : 'cognito',
    };
  })();
  discovered.catch(() => (discovered = undefined));
  return discovered;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function randomText(byteCount: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

/** The page's own URL without query or hash: where the issuer sends the browser back. */
function redirectUriOf(config: DashboardConfig): string {
  return config.redirectUri ?? `${location.origin}${location.pathname}`;
}

function scopesOf(config: DashboardConfig): string {
  const scopes = config.scopes ?? 'openid';
  return Array.isArray(scopes) ? scopes.join(' ') : scopes;
}

/** Sends the browser to the issuer to sign in (RFC 7636: a 32-byte verifier, its SHA-256 as the challenge). */
export async function beginSignIn(config: DashboardConfig): Promise<void> {
  const { authorize } = await endpoints(config);
  const verifier = randomText(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const pending: PendingSignIn = { state: randomText(16), verifier, redirectUri: redirectUriOf(config), startedAt: Date.now(), hash: location.hash };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(authorize);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId ?? '');
  url.searchParams.set('redirect_uri', pending.redirectUri);
  url.searchParams.set('scope', scopesOf(config));
  url.searchParams.set('state', pending.state);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  location.assign(url.href);
}

/**
 * Finishes a sign-in when the issuer has sent the browser back (a `code` or an `error` in the
 * query): the `state` must be the one this tab sent, once, within ten minutes. Answers whether
 * there was one to finish; throws SignInError when it failed.
 */
export async function completeSignIn(config: DashboardConfig): Promise<boolean> {
  const answer = new URLSearchParams(location.search);
  if (!answer.has('code') && !answer.has('error')) return false;
  const pendingText = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const pending = pendingText === null ? undefined : (JSON.parse(pendingText) as PendingSignIn);
  // The code leaves the address bar (and the history) whatever happens next.
  history.replaceState(null, '', `${location.pathname}${pending?.hash ?? ''}`);
  const error = answer.get('error');
  if (error !== null) {
    const description = answer.get('error_description');
    throw new SignInError(`the issuer refused the sign-in: ${error}${description === null ? '' : ` (${description})`}`);
  }
  if (pending === undefined || pending.state !== answer.get('state') || Date.now() - pending.startedAt > PENDING_MS) {
    throw new SignInError('this sign-in answer does not belong to a sign-in started in this tab in the last ten minutes; sign in again');
  }
  const { token: tokenUrl } = await endpoints(config);
  const response = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: answer.get('code') ?? '',
      redirect_uri: pending.redirectUri,
      client_id: config.clientId ?? '',
      code_verifier: pending.verifier,
    }),
    credentials: 'omit',
  });
  const tokens = (await response.json().catch(() => ({}))) as { access_token?: unknown; id_token?: unknown; expires_in?: unknown; error?: unknown };
  if (!response.ok) throw new SignInError(`the issuer did not issue tokens: ${typeof tokens.error === 'string' ? tokens.error : response.status}`);
  const token = config.tokenType === 'id_token' ? tokens.id_token : tokens.access_token;
  if (typeof token !== 'string' || token === '') throw new SignInError(`the issuer's answer holds no ${config.tokenType ?? 'access_token'}`);
  keep({
    token,
    ...(typeof tokens.expires_in === 'number' ? { expiresAt: Date.now() + tokens.expires_in * 1000 } : {}),
    ...(typeof tokens.id_token === 'string' ? { idToken: tokens.id_token } : {}),
  });
  return true;
}

/**
 * Signs out: the token is forgotten and the page starts afresh, so nothing one user saw stays in
 * memory for the next; with OIDC the browser signs out at the issuer too, when it has a logout endpoint.
 */
export async function signOut(config: DashboardConfig): Promise<void> {
  const session = currentSession();
  forget();
  const back = redirectUriOf(config);
  if (config.auth === 'oidc') {
    const known = await endpoints(config).catch(() => undefined);
    if (known?.logout !== undefined) {
      const url = new URL(known.logout);
      url.searchParams.set('client_id', config.clientId ?? '');
      if (known.logoutStyle === 'cognito') {
        url.searchParams.set('logout_uri', back);
      } else {
        url.searchParams.set('post_logout_redirect_uri', back);
        if (session?.idToken !== undefined) url.searchParams.set('id_token_hint', session.idToken);
      }
      location.assign(url.href);
      return;
    }
  }
  location.assign(back);
}
