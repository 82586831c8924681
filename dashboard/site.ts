/**
 * What the dashboard's page needs from wherever it is served (the local stack, or S3 behind
 * CloudFront): the `config.json` beside `index.html`, and the response headers that confine it.
 * Shared by the page itself, the local HTTP adapter and the CDK construct, so all three agree.
 */

/** The sign-in the page offers: none, a pasted bearer token, or OpenID Connect (which also allows pasting). */
export const DASHBOARD_AUTH_MODES = ['none', 'token', 'oidc'] as const;
export type DashboardAuth = (typeof DASHBOARD_AUTH_MODES)[number];

/** `config.json`, read by the page at start. */
export interface DashboardConfig {
  /** The TES base URL (ending in /ga4gh/tes/v1), absolute or relative to the page. */
  apiUrl: string;
  auth: DashboardAuth;
  /** oidc: the issuer, whose discovery document names the endpoints not given below. */
  issuer?: string;
  /** oidc: the public client (no secret) the page signs in as. */
  clientId?: string;
  /** oidc: where the browser is sent to sign in (Cognito's hosted UI: https://<domain>/oauth2/authorize). */
  authorizeUrl?: string;
  /** oidc: where the page trades the code for tokens (Cognito: https://<domain>/oauth2/token). */
  tokenUrl?: string;
  /** oidc: where the browser is sent to sign out at the issuer too (Cognito: https://<domain>/logout). */
  logoutUrl?: string;
  /** oidc: the scopes asked for, space-separated or a list (default `openid`). */
  scopes?: string | string[];
  /** oidc: the redirect URI registered with the client (default: the page's own URL, without query or hash). */
  redirectUri?: string;
  /** oidc: which token the API is called with (default `access_token`; some issuers' access tokens are not for this API). */
  tokenType?: 'access_token' | 'id_token';
}

/**
 * The page's Content-Security-Policy: its own scripts, styles and images only, no inline code, no
 * HTML strings turned into markup (Trusted Types), not framed, and connections only to itself and
 * to `connectTo` (the API and the issuer when they are elsewhere).
 */
export function dashboardCsp(connectTo: readonly string[] = []): string {
  return [
    "default-src 'self'",
    `connect-src ${["'self'", ...connectTo].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

/** The headers every dashboard response carries besides the CSP. */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  // Small files that change with each build: always revalidated (they carry no hash in their names).
  'cache-control': 'no-cache',
};

/** The files a dashboard build holds, with their media types; nothing else is served. */
export const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};
