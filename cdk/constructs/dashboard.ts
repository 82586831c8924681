/**
 * The web dashboard (`-c dashboard=true`): the page built at synth (dashboard/build.mjs) in a private,
 * encrypted, TLS-only bucket that only CloudFront reads (Origin Access Control), served over HTTPS
 * with the page's CSP and safe headers (dashboard/site.ts, as the local stack serves them), and a
 * config.json naming the API and how to sign in: with Cognito, an app client of the API's user pool
 * for the hosted UI (public, authorization code with PKCE, back to the dashboard's URL only) and the
 * pool's domain; with OIDC, the operator's client at the issuer. The page calls the API from its own
 * origin; the API's CORS admits it (tes-api.ts).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import * as esbuild from 'esbuild';
import { buildDashboardSync } from '../../dashboard/build.mjs';
import { DASHBOARD_HEADERS, dashboardCsp, type DashboardConfig } from '../../dashboard/site.js';
import type { DashboardSettings, TesConfig } from '../config.js';
import { logBucket } from './log-bucket.js';
import type { TesApi } from './tes-api.js';

export interface WebDashboardProps {
  config: TesConfig;
  settings: DashboardSettings;
  api: TesApi;
  removalPolicy: RemovalPolicy;
}

/** The origin (scheme, host, port) of an https URL, for the CSP's connect-src. */
function originOf(url: string): string {
  return new URL(url).origin;
}

export class WebDashboard extends Construct {
  /** The private bucket the page is kept in. */
  readonly bucket: s3.Bucket;
  /** Where CloudFront's and the bucket's access logs go. */
  readonly logs: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** The dashboard's URL (https://<id>.cloudfront.net/). */
  readonly url: string;
  /** auth=cognito: the dashboard's app client and the hosted UI's domain. */
  readonly client?: cognito.UserPoolClient;
  readonly domain?: cognito.UserPoolDomain;

  constructor(scope: Construct, id: string, props: WebDashboardProps) {
    super(scope, id);
    const { config, settings, api, removalPolicy } = props;
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;

    this.logs = logBucket(this, 'Logs', { retentionDays: config.logRetentionDays, removalPolicy });
    this.bucket = new s3.Bucket(this, 'Site', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'site-bucket/',
      removalPolicy,
      autoDeleteObjects,
    });

    // Where the page signs in, and the origins it may connect to for that besides the API.
    let signIn: Omit<DashboardConfig, 'apiUrl'>;
    let identityOrigins: string[];
    let withUrl: (url: string) => void = () => undefined;
    if (config.auth === 'cognito') {
      const pool = api.userPool as cognito.UserPool;
      // Unique per stack and account, as Cognito needs within a region.
      const hash = createHash('sha256').update(`${Stack.of(this).stackName}/${this.node.path}`).digest('hex').slice(0, 8);
      const domainPrefix = settings.cognitoDomainPrefix ?? Fn.join('-', ['tes', hash, Aws.ACCOUNT_ID]);
      const domain = pool.addDomain('DashboardDomain', { cognitoDomain: { domainPrefix } });
      this.domain = domain;
      const base = domain.baseUrl();
      signIn = {
        auth: 'oidc',
        issuer: `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${pool.userPoolId}`,
        authorizeUrl: `${base}/oauth2/authorize`,
        tokenUrl: `${base}/oauth2/token`,
        logoutUrl: `${base}/logout`,
        scopes: settings.scopes,
        tokenType: settings.tokenType,
      };
      identityOrigins = [base];
      withUrl = (url) => {
        const client = api.addUserPoolClient('DashboardClient', {
          // A page cannot keep a secret: a public client, signing in through the hosted UI only.
          generateSecret: false,
          // No sign-in by password through the API: the hosted UI's code flow (and refreshing its tokens) only.
          authFlows: { userPassword: false, userSrp: false },
          supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
          oAuth: {
            flows: { authorizationCodeGrant: true },
            scopes: settings.scopes.split(/\s+/).map((scope) => cognito.OAuthScope.custom(scope)),
            callbackUrls: [url],
            logoutUrls: [url],
          },
          preventUserExistenceErrors: true,
          accessTokenValidity: Duration.hours(1),
          idTokenValidity: Duration.hours(1),
          refreshTokenValidity: Duration.hours(12),
          enableTokenRevocation: true,
        });
        (this as { client?: cognito.UserPoolClient }).client = client;
        signIn = { ...signIn, clientId: client.userPoolClientId, redirectUri: url };
      };
    } else if (config.auth === 'oidc') {
      signIn = {
        auth: 'oidc',
        issuer: config.oidcIssuer,
        clientId: settings.clientId,
        ...(settings.authorizeUrl === undefined ? {} : { authorizeUrl: settings.authorizeUrl }),
        ...(settings.tokenUrl === undefined ? {} : { tokenUrl: settings.tokenUrl }),
        ...(settings.logoutUrl === undefined ? {} : { logoutUrl: settings.logoutUrl }),
        scopes: settings.scopes,
        tokenType: settings.tokenType,
      };
      // The page reads the issuer's discovery document and trades codes at the token endpoint.
      identityOrigins = [...new Set([config.oidcIssuer as string, ...(settings.tokenUrl === undefined ? [] : [settings.tokenUrl])].map(originOf))];
      withUrl = (url) => (signIn = { ...signIn, redirectUri: url });
    } else {
      signIn = { auth: 'none' };
      identityOrigins = [];
    }

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'The TES dashboard: its CSP and safe headers (dashboard/site.ts)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: dashboardCsp([api.api.apiEndpoint, ...identityOrigins]), override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Cross-Origin-Opener-Policy', value: DASHBOARD_HEADERS['cross-origin-opener-policy'] as string, override: true }],
      },
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'TES dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logs,
      logFilePrefix: 'cloudfront/',
    });
    this.url = `https://${this.distribution.distributionDomainName}/`;
    withUrl(this.url);

    // The page, built now into the cloud assembly's directory and uploaded as an asset.
    const built = join(Stage.of(this)?.outdir ?? '.', 'tes-dashboard-build');
    rmSync(built, { recursive: true, force: true });
    buildDashboardSync(esbuild, built);
    const siteConfig: DashboardConfig = { apiUrl: api.url, ...signIn };
    new s3deploy.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [s3deploy.Source.asset(built), s3deploy.Source.jsonData('config.json', siteConfig)],
      // Files without a hash in their names: browsers revalidate them, and CloudFront's copies are invalidated with each deployment.
      cacheControl: [s3deploy.CacheControl.fromString(DASHBOARD_HEADERS['cache-control'] as string)],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 256,
      logGroup: new logs.LogGroup(this, 'DeployLogs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy }),
    });

    new CfnOutput(this, 'DashboardUrl', { value: this.url, description: 'The TES dashboard' });
  }
}
