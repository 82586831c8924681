/**
 * Stopping a task's Fargate tasks on the wire: ECS as moto's server speaks it. moto runs tasks only
 * on a registered container instance (its Fargate networking fails), which the test sets up with
 * boto3 against the same server; what is tested is our StopTask, as CancelTask and RecordFailure
 * send it. ECS's answer for a task it never knew (InvalidParameterException, left be) is not
 * moto's, so that case stays in the mocked test.
 */
import { execFileSync } from 'node:child_process';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type Moto } from '../../infra-tests/support/moto.js';
import { pythonWithClients } from '../../infra-tests/support/python-clients.js';
import { stopEcsTasks } from './ecs-tasks.js';

let moto: Moto;
let ecs: ECSClient;
let running: string[];

/** Two running tasks on cluster `tes`, started with boto3 as ECS would hold them. */
const SETUP = `
import json, sys, boto3
kw = dict(region_name='eu-west-1', endpoint_url=sys.argv[1], aws_access_key_id='testing', aws_secret_access_key='testing')
ec2, ecs = boto3.client('ec2', **kw), boto3.client('ecs', **kw)
image = ec2.describe_images()['Images'][0]['ImageId']
instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)['Instances'][0]
document = {'instanceId': instance['InstanceId'], 'region': 'eu-west-1', 'availabilityZone': 'eu-west-1a', 'imageId': image,
            'instanceType': 't2.micro', 'accountId': '123456789012', 'privateIp': '10.0.0.1', 'architecture': 'x86_64'}
ecs.create_cluster(clusterName='tes')
ecs.register_container_instance(cluster='tes', instanceIdentityDocument=json.dumps(document))
ecs.register_task_definition(family='tes-probe', containerDefinitions=[{'name': 'executor', 'image': 'x', 'memory': 128}])
tasks = ecs.run_task(cluster='tes', taskDefinition='tes-probe', count=2)['tasks']
print(json.dumps([t['taskArn'] for t in tasks]))
`;

beforeAll(async () => {
  moto = await startMoto();
  ecs = new ECSClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  running = JSON.parse(execFileSync(pythonWithClients(), ['-c', SETUP, moto.endpoint], { encoding: 'utf8' })) as string[];
}, 600_000);
afterAll(async () => {
  await moto?.close();
});

describe('stopping Fargate tasks on the wire', () => {
  it("stops every task of a task's runs with the reason (cut to ECS's 255 characters), and a second stop is no error", async () => {
    expect(running).toHaveLength(2);
    const reason = `canceled by its owner: ${'x'.repeat(400)}`;
    await stopEcsTasks(ecs, 'tes', running, reason);
    const described = (await ecs.send(new DescribeTasksCommand({ cluster: 'tes', tasks: running }))).tasks ?? [];
    expect(described.map((t) => t.desiredStatus)).toEqual(['STOPPED', 'STOPPED']);
    expect(described.map((t) => t.stoppedReason)).toEqual([reason.slice(0, 255), reason.slice(0, 255)]);
    await expect(stopEcsTasks(ecs, 'tes', running, 'again')).resolves.toBeUndefined();
  });

  it('fails on an error that is not "already gone": a cluster that does not exist', async () => {
    await expect(stopEcsTasks(ecs, 'no-such-cluster', running.slice(0, 1), 'x')).rejects.toMatchObject({ name: 'ClusterNotFoundException' });
  });
});
