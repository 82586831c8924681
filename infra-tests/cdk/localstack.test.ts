/** What of the LocalStack path runs without Docker: synthesis with its settings, and the script's arguments. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testApp } from '../support/cdk-app.js';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../cdk/app.js';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', '..', 'localstack', 'deploy.sh');

async function deploy(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run('bash', [script, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

describe('the LocalStack path', () => {
  it('synthesizes with the settings the script uses (auth=none, no GuardDuty, destroyable)', () => {
    const app = testApp({ context: { auth: 'none', guardDuty: false, removalPolicy: 'destroy' } });
    const { service, stateful } = buildApp(app);
    app.synth();
    const template = Template.fromStack(service);
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.resourceCountIs('AWS::GuardDuty::Detector', 0);
    expect(JSON.stringify(template.toJSON())).toContain('TES_ANONYMOUS_OWNER');
    expect(Template.fromStack(stateful).toJSON()).toMatchObject({});
    expect(Object.values(Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable'))[0]).toMatchObject({ DeletionPolicy: 'Delete' });
  }, 120_000);

  it('prints its usage with --help', async () => {
    const { code, out } = await deploy(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('usage: localstack/deploy.sh');
  });

  it.each([
    [['--auth', 'magic'], '--auth must be none or cognito'],
    [['--auth'], '--auth needs a value'],
    [['--endpoint', 'localhost:4566'], '--endpoint must be an http(s) URL'],
    [['--bogus'], 'unknown argument: --bogus'],
  ])('refuses %j with a clear message', async (args, message) => {
    const { code, err } = await deploy(args);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('says what is missing when there is no LocalStack auth token', async () => {
    const { code, err } = await deploy(['--auth', 'none']);
    expect(code).toBe(3);
    expect(err).toContain('LOCALSTACK_AUTH_TOKEN is not set');
  });

  it('plans cdklocal bootstrap and deploy with the LocalStack context in a dry run', async () => {
    const { code, out } = await deploy(['--dry-run', '--auth', 'cognito']);
    expect(code).toBe(0);
    expect(out).toContain('aws-cdk-local@3.0.4 bootstrap -c auth=cognito -c guardDuty=false -c removalPolicy=destroy');
    expect(out).toContain('deploy --all --require-approval never');
  });
});
