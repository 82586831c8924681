/**
 * The web dashboard in AWS (`-c dashboard=true`), asserted on the synthesized templates: a private
 * bucket that only CloudFront reads through Origin Access Control, HTTPS only with the page's CSP
 * and safe headers, the built page and its config.json deployed, the hosted UI's public app client
 * (auth=cognito) or the operator's issuer (auth=oidc), the API accepting the dashboard's tokens and
 * its CORS admitting the dashboard's origin, and cdk-nag clean. Without the flag, none of it exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { testApp } from '../support/cdk-app.js';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.js';
import { DASHBOARD_FILES, DASHBOARD_HEADERS } from '../../dashboard/site.js';

type Resource = { Type: string; Properties: Record<string, unknown> };

interface Synthesized {
  app: App;
  stacks: ReturnType<typeof buildApp>;
  service: Template;
}

function synth(context: Record<string, unknown>): Synthesized {
  const app = testApp({ context });
  const stacks = buildApp(app);
  app.synth();
  return { app, stacks, service: Template.fromStack(stacks.service) };
}

const only = (template: Template, type: string): Resource => {
  const found = Object.values(template.findResources(type)) as Resource[];
  expect(found.length, type).toBe(1);
  return found[0] as Resource;
};

const logicalId = (template: Template, type: string, pattern: RegExp): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids.length, `${type} ${pattern}`).toBe(1);
  return ids[0] as string;
};

/** The config.json the deployment writes, as staged in the cloud assembly (deploy-time values as markers). */
function deployedConfig(synthesized: Synthesized): Record<string, string> {
  const outdir = synthesized.app.outdir;
  for (const entry of readdirSync(outdir, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith('asset.')) continue;
    const names = readdirSync(join(outdir, entry.name));
    if (names.length === 1 && names[0] === 'config.json') return JSON.parse(readFileSync(join(outdir, entry.name, 'config.json'), 'utf8')) as Record<string, string>;
  }
  throw new Error('no config.json asset in the cloud assembly');
}

let cognito: Synthesized;
let oidc: Synthesized;
let off: Synthesized;

beforeAll(() => {
  cognito = synth({ auth: 'cognito', dashboard: true });
  oidc = synth({ auth: 'oidc', oidcIssuer: 'https://id.example.org/realms/lab', oidcAudience: 'tes', dashboard: 'true', dashboardClientId: 'tes-dashboard' });
  off = synth({ auth: 'cognito' });
}, 240_000);

describe('the dashboard (-c dashboard=true)', () => {
  it('Compliance: cdk-nag finds no unsuppressed error or warning on either stack, with cognito or oidc', () => {
    for (const { stacks } of [cognito, oidc]) {
      for (const stack of [stacks.stateful, stacks.service]) {
        const findings = [
          ...Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
          ...Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ];
        expect(findings.map((f) => `${f.id}: ${JSON.stringify(f.entry.data)}`)).toEqual([]);
      }
    }
  });

  it('keeps the page in a private, encrypted, TLS-only bucket that only the distribution reads, through Origin Access Control', () => {
    const { service } = cognito;
    const site = logicalId(service, 'AWS::S3::Bucket', /^TesWebDashboardSite/);
    const distribution = logicalId(service, 'AWS::CloudFront::Distribution', /^TesWebDashboardDistribution/);
    const bucket = service.findResources('AWS::S3::Bucket')[site] as Resource;
    expect(bucket.Properties['PublicAccessBlockConfiguration']).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.Properties['BucketEncryption']).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(bucket.Properties['LoggingConfiguration']).toMatchObject({ LogFilePrefix: 'site-bucket/' });
    expect(bucket.Properties['WebsiteConfiguration']).toBeUndefined();

    service.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    const origins = (only(service, 'AWS::CloudFront::Distribution').Properties['DistributionConfig'] as { Origins: Record<string, unknown>[] }).Origins;
    expect(origins).toEqual([
      expect.objectContaining({
        DomainName: { 'Fn::GetAtt': [site, 'RegionalDomainName'] },
        OriginAccessControlId: { 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] },
        S3OriginConfig: { OriginAccessIdentity: '' },
      }),
    ]);

    const policy = Object.values(service.findResources('AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p).includes(`"Ref":"${site}"`)) as Resource;
    const statements = (policy.Properties['PolicyDocument'] as { Statement: { Effect: string; Principal: unknown; Action: unknown; Condition?: unknown }[] }).Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Action: 's3:GetObject',
          Condition: { StringEquals: { 'AWS:SourceArn': expect.objectContaining({ 'Fn::Join': expect.arrayContaining([expect.arrayContaining([{ Ref: distribution }])]) }) } },
        }),
      ]),
    );
    // Nobody else is let in: every Allow names a service principal (CloudFront, S3's log delivery) or this account's roles.
    for (const statement of statements.filter((s) => s.Effect === 'Allow')) expect(JSON.stringify(statement.Principal)).not.toBe('{"AWS":"*"}');
  });

  it('serves HTTPS only, index.html at the root, with the CSP (the API and the hosted UI its only other origins) and safe headers', () => {
    const { service } = cognito;
    const config = only(service, 'AWS::CloudFront::Distribution').Properties['DistributionConfig'] as Record<string, unknown>;
    expect(config['DefaultRootObject']).toBe('index.html');
    expect(config['DefaultCacheBehavior']).toMatchObject({ ViewerProtocolPolicy: 'https-only', AllowedMethods: ['GET', 'HEAD'] });
    expect(config['Logging']).toMatchObject({ Prefix: 'cloudfront/' });

    const headers = (only(service, 'AWS::CloudFront::ResponseHeadersPolicy').Properties['ResponseHeadersPolicyConfig'] as Record<string, Record<string, unknown>>);
    const security = headers['SecurityHeadersConfig'] as Record<string, Record<string, unknown>>;
    const csp = JSON.stringify(security['ContentSecurityPolicy']);
    expect(csp).toMatch(/^\{"ContentSecurityPolicy":\{"Fn::Join":\["",\["default-src 'self'; connect-src 'self' ",\{"Fn::GetAtt":\["TesApiHttpApi[A-Z0-9]+","ApiEndpoint"\]\}," https:\/\/",\{"Ref":"TesApiUsersDashboardDomain[A-Z0-9]+"\},".auth.",\{"Ref":"AWS::Region"\},".amazoncognito.com; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"\]\]\},"Override":true\}$/);
    expect(security['FrameOptions']).toEqual({ FrameOption: DASHBOARD_HEADERS['x-frame-options'], Override: true });
    expect(security['ReferrerPolicy']).toEqual({ ReferrerPolicy: DASHBOARD_HEADERS['referrer-policy'], Override: true });
    expect(security['ContentTypeOptions']).toEqual({ Override: true });
    expect(security['StrictTransportSecurity']).toMatchObject({ AccessControlMaxAgeSec: 31_536_000, Override: true });
    expect(headers['CustomHeadersConfig']).toEqual({ Items: [{ Header: 'Cross-Origin-Opener-Policy', Value: DASHBOARD_HEADERS['cross-origin-opener-policy'], Override: true }] });
  });

  it('deploys the page built at synth and a config.json naming the API and the hosted UI, then invalidates the distribution', () => {
    const { service } = cognito;
    const site = logicalId(service, 'AWS::S3::Bucket', /^TesWebDashboardSite/);
    const distribution = logicalId(service, 'AWS::CloudFront::Distribution', /^TesWebDashboardDistribution/);
    const deployment = only(service, 'Custom::CDKBucketDeployment').Properties;
    expect(deployment).toMatchObject({ DestinationBucketName: { Ref: site }, DistributionId: { Ref: distribution }, DistributionPaths: ['/*'], Prune: true, SystemMetadata: { 'cache-control': DASHBOARD_HEADERS['cache-control'] } });
    const built = readdirSync(join(cognito.app.outdir, 'tes-dashboard-build')).sort();
    expect(built).toEqual(Object.keys(DASHBOARD_FILES).sort());

    const config = deployedConfig(cognito);
    const markers = (deployment['SourceMarkers'] as Record<string, unknown>[])[1] as Record<string, unknown>;
    // Each deploy-time value in config.json is a marker the deployment replaces with what the template names.
    const value = (text: string | undefined) => (text ?? '').replace(/<<marker:0xbaba:\d+>>/g, (marker) => JSON.stringify(markers[marker]));
    expect(value(config['apiUrl'])).toMatch(/^\{"Fn::GetAtt":\["TesApiHttpApi[A-Z0-9]+","ApiEndpoint"\]\}\/ga4gh\/tes\/v1$/);
    expect(config['auth']).toBe('oidc');
    expect(value(config['clientId'])).toMatch(/^\{"Ref":"TesApiUsersDashboardClient[A-Z0-9]+"\}$/);
    expect(value(config['authorizeUrl'])).toMatch(/^https:\/\/\{"Ref":"TesApiUsersDashboardDomain[A-Z0-9]+"\}\.auth\.\{"Ref":"AWS::Region"\}\.amazoncognito\.com\/oauth2\/authorize$/);
    expect(value(config['tokenUrl'])).toMatch(/\.amazoncognito\.com\/oauth2\/token$/);
    expect(value(config['logoutUrl'])).toMatch(/\.amazoncognito\.com\/logout$/);
    expect(value(config['redirectUri'])).toBe(`https://{"Fn::GetAtt":["${distribution}","DomainName"]}/`);
    expect(config['scopes']).toBe('openid email profile');
  });

  it('signs in through the hosted UI with a public client: code grant only, no secret, back to the distribution only', () => {
    const { service } = cognito;
    const distribution = logicalId(service, 'AWS::CloudFront::Distribution', /^TesWebDashboardDistribution/);
    const back = [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }, '/']] }];
    service.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: back,
      LogoutURLs: back,
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      SupportedIdentityProviders: ['COGNITO'],
    });
    service.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: { 'Fn::Join': ['-', [Match.stringLikeRegexp('^tes-[0-9a-f]{8}$'), { Ref: 'AWS::AccountId' }]] } });
    // The workflow engines' client signs in by password only: the hosted UI offers it no OAuth flow.
    const clients = Object.values(service.findResources('AWS::Cognito::UserPoolClient')) as Resource[];
    expect(clients.length).toBe(2);
    expect(clients.filter((c) => c.Properties['AllowedOAuthFlows'] !== undefined).length).toBe(1);
  });

  it("has the API accept the dashboard client's tokens, and its CORS admit the dashboard's origin without credentials", () => {
    const { service } = cognito;
    const [first, dashboard] = [logicalId(service, 'AWS::Cognito::UserPoolClient', /TesClients/), logicalId(service, 'AWS::Cognito::UserPoolClient', /DashboardClient/)];
    service.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Audience: [{ Ref: first }, { Ref: dashboard }], Issuer: Match.anyValue() } });
    service.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TES_JWT_AUDIENCE: { 'Fn::Join': ['', [{ Ref: first }, ',', { Ref: dashboard }]] } }) },
    });
    // The page calls the API from the distribution's origin with a bearer token (no cookies): '*' admits it.
    const cors = only(service, 'AWS::ApiGatewayV2::Api').Properties['CorsConfiguration'] as Record<string, unknown>;
    expect(cors['AllowOrigins']).toEqual(['*']);
    expect(cors['AllowHeaders']).toEqual(expect.arrayContaining(['authorization']));
    expect(cors['AllowMethods']).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(cors['AllowCredentials']).toBeUndefined();
  });

  it("with auth=oidc: names the operator's issuer and client, and lets the page connect to the issuer only besides the API", () => {
    const config = deployedConfig(oidc);
    expect(config).toMatchObject({ auth: 'oidc', issuer: 'https://id.example.org/realms/lab', clientId: 'tes-dashboard', scopes: 'openid', tokenType: 'access_token' });
    expect(config['authorizeUrl']).toBeUndefined();
    const csp = JSON.stringify(only(oidc.service, 'AWS::CloudFront::ResponseHeadersPolicy'));
    expect(csp).toContain(`" https://id.example.org; object-src 'none'`);
    oidc.service.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    oidc.service.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
  });

  it('is not there without the flag: no distribution, no site bucket, no hosted UI, one app client with no OAuth flow', () => {
    const { service } = off;
    service.resourceCountIs('AWS::CloudFront::Distribution', 0);
    service.resourceCountIs('AWS::S3::Bucket', 0);
    service.resourceCountIs('Custom::CDKBucketDeployment', 0);
    service.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    const client = only(service, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties['AllowedOAuthFlows']).toBeUndefined();
    service.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { JwtConfiguration: { Audience: [{ Ref: logicalId(service, 'AWS::Cognito::UserPoolClient', /TesClients/) }], Issuer: Match.anyValue() } });
  });
});
