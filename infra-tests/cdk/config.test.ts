import { describe, expect, it } from 'vitest';
import { readConfig } from '../../cdk/config.js';

const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe('the deployment configuration', () => {
  it('defaults to the hardened choices', () => {
    const config = readConfig(from({}));
    expect(config).toMatchObject({ auth: 'cognito', executorUser: '1000:1000', executorEgress: 's3', admission: {}, removalPolicy: 'retain', guardDuty: true });
  });

  it("turns the admission policy's context keys into the API's variables", () => {
    const config = readConfig(
      from({ allowedImagePrefixes: ['public.ecr.aws/', 'quay.io/'], maxCpuCores: 4, maxRamGb: '16', maxExecutors: 20, maxContentBytes: 65536 }),
    );
    expect(config.admission).toEqual({
      TES_ALLOWED_IMAGE_PREFIXES: 'public.ecr.aws/,quay.io/',
      TES_MAX_CPU_CORES: '4',
      TES_MAX_RAM_GB: '16',
      TES_MAX_EXECUTORS: '20',
      TES_MAX_CONTENT_BYTES: '65536',
    });
  });

  it('refuses a bad admission setting at synth, naming the context key', () => {
    expect(() => readConfig(from({ maxDiskGb: 'plenty' }))).toThrow('context maxDiskGb must be a positive number, not "plenty"');
    expect(() => readConfig(from({ maxExecutorBytes: 9000 }))).toThrow('context maxExecutorBytes must be at most 6144');
  });

  it("turns the storage policy's context keys into the functions' variables, and refuses a bad rule or the old dataBuckets", () => {
    const config = readConfig(from({ storageRules: ['s3://lab-data/{owner}/=readwrite', 's3://reference/genomes/=read'], httpInputs: false }));
    expect(config.storage).toEqual({ TES_STORAGE_RULES: 's3://lab-data/{owner}/=readwrite,s3://reference/genomes/=read', TES_HTTP_INPUTS: 'off' });
    expect(config.storageRules).toEqual([
      { bucket: 'lab-data', prefix: '{owner}/', access: 'readwrite', adminOnly: false },
      { bucket: 'reference', prefix: 'genomes/', access: 'read', adminOnly: false },
    ]);
    // Without a NAT gateway (the default egress) an http(s) input could only fail at run time: refused at CreateTask instead.
    expect(readConfig(from({})).storage).toEqual({ TES_HTTP_INPUTS: 'off' });
    expect(readConfig(from({ executorEgress: 'internet' })).storage).toEqual({});
    expect(readConfig(from({ httpInputs: 'on', httpInputAllow: '10.0.0.0/8' })).storage).toEqual({ TES_HTTP_INPUTS: 'on' });
    expect(() => readConfig(from({ storageRules: 's3://lab-data/x=read' }))).toThrow(/^context storageRules: "s3:\/\/lab-data\/x=read" must end its prefix with '\/'/);
    expect(() => readConfig(from({ httpInputs: 'sometimes' }))).toThrow('context httpInputs must be on or off');
    expect(() => readConfig(from({ dataBuckets: 'lab-data' }))).toThrow(/dataBuckets is replaced by storageRules/);
  });

  it('passes the region’s Fargate prices to the workflow, checked by its parser', () => {
    expect(readConfig(from({})).fargatePrices).toBe('');
    const prices = { name: 'eu-west-1 list prices', X86_64: { vcpuHour: 0.04456, gbHour: 0.004865 } };
    expect(JSON.parse(readConfig(from({ fargatePrices: prices })).fargatePrices)).toEqual(prices);
    expect(() => readConfig(from({ fargatePrices: 'cheap' }))).toThrow(/^context fargatePrices must be JSON/);
  });

  it('names the admin claim: the Cognito group by default, any claim with OIDC, none without auth', () => {
    expect(readConfig(from({})).adminClaim).toBe('cognito:groups=tes-admins');
    const oidc = { auth: 'oidc', oidcIssuer: 'https://id.example.org', oidcAudience: 'tes' };
    expect(readConfig(from(oidc)).adminClaim).toBe('groups=tes-admins');
    expect(readConfig(from({ ...oidc, adminClaim: 'scope=tes/admin' })).adminClaim).toBe('scope=tes/admin');
    expect(readConfig(from({ auth: 'none' })).adminClaim).toBe('none');
    expect(() => readConfig(from({ adminClaim: 'admins' }))).toThrow(/context adminClaim must be name=value/);
  });

  it('lets http(s) inputs reach only public addresses unless httpInputAllow names more, read by the parser stage-in uses', () => {
    expect(readConfig(from({})).httpInputAllow).toBe('');
    expect(readConfig(from({ httpInputAllow: '10.20.0.0/16,files.internal.example' })).httpInputAllow).toBe('10.20.0.0/16,files.internal.example');
    expect(() => readConfig(from({ httpInputAllow: '10.0.0.0/99' }))).toThrow('context httpInputAllow: "10.0.0.0/99" is not an address or CIDR');
    expect(() => readConfig(from({ httpInputAllow: ['a'] }))).toThrow(/context httpInputAllow must be a comma-separated string/);
  });

  it('refuses a root executor user and unknown auth or egress', () => {
    expect(() => readConfig(from({ executorUser: '0:0' }))).toThrow(/non-root/);
    expect(() => readConfig(from({ auth: 'basic' }))).toThrow(/cognito, oidc or none/);
    expect(() => readConfig(from({ executorEgress: 'all' }))).toThrow(/none, s3 or internet/);
  });

  it('leaves the web dashboard off unless dashboard is true, and checks its context keys', () => {
    expect(readConfig(from({})).dashboard).toBeUndefined();
    expect(readConfig(from({ dashboard: 'false' })).dashboard).toBeUndefined();
    expect(readConfig(from({ dashboard: true })).dashboard).toEqual({ scopes: 'openid email profile', tokenType: 'access_token' });
    expect(readConfig(from({ dashboard: 'true', dashboardDomainPrefix: 'lab-tes' })).dashboard).toMatchObject({ cognitoDomainPrefix: 'lab-tes' });
    expect(() => readConfig(from({ dashboard: 'yes' }))).toThrow('context dashboard must be true or false, not "yes"');
    for (const prefix of ['my-aws-tes', 'Lab', '-lab', 'lab_tes']) {
      expect(() => readConfig(from({ dashboard: true, dashboardDomainPrefix: prefix })), prefix).toThrow(/^context dashboardDomainPrefix must be lower-case letters/);
    }
    expect(() => readConfig(from({ dashboard: true, dashboardTokenType: 'refresh_token' }))).toThrow('context dashboardTokenType must be access_token or id_token, not refresh_token');
    const oidc = { auth: 'oidc', oidcIssuer: 'https://id.example.org', oidcAudience: 'tes', dashboard: true };
    expect(() => readConfig(from(oidc))).toThrow(/^dashboard=true with auth=oidc needs context dashboardClientId/);
    expect(readConfig(from({ ...oidc, dashboardClientId: 'web', dashboardTokenUrl: 'https://tokens.example.org/token', dashboardTokenType: 'id_token' })).dashboard).toEqual({
      clientId: 'web',
      tokenUrl: 'https://tokens.example.org/token',
      scopes: 'openid',
      tokenType: 'id_token',
    });
    expect(() => readConfig(from({ ...oidc, dashboardClientId: 'web', dashboardAuthorizeUrl: 'http://id.example.org/auth' }))).toThrow(
      'context dashboardAuthorizeUrl must be an https URL, not http://id.example.org/auth',
    );
  });
});
