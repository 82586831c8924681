/**
 * Where executors run: a VPC with private subnets and, by default, no NAT gateway (AWS services
 * through VPC endpoints only), an ECS cluster with FARGATE and FARGATE_SPOT, the security group
 * every executor task gets (no ingress), the execution role (image pulls and logs only: executors
 * get no task role at all), their log group, and our runtime image.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { TesConfig } from '../config.js';
import { admissionFromEnv } from '../../lambdas/domain/admission.js';
import { prepareRuntimeImage } from '../../lambdas/runtime/image.js';
import { ecrRepositoryArns } from './storage-access.js';

export interface ExecutorClusterProps {
  config: TesConfig;
  bucket: s3.IBucket;
  removalPolicy: RemovalPolicy;
}

export class ExecutorCluster extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly executionRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly runtimeImage: ecrAssets.DockerImageAsset;
  readonly brokerEndpoint: ec2.InterfaceVpcEndpoint;
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly subnets: ec2.ISubnet[];

  constructor(scope: Construct, id: string, props: ExecutorClusterProps) {
    super(scope, id);
    const { config } = props;
    const internet = config.executorEgress === 'internet';
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: internet ? 1 : 0,
      subnetConfiguration: internet
        ? [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'executors', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
          ]
        : [{ name: 'executors', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 }],
      flowLogs: {
        rejected: {
          trafficType: ec2.FlowLogTrafficType.REJECT,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(
            new logs.LogGroup(this, 'FlowLogs', { retention: config.logRetentionDays as logs.RetentionDays, removalPolicy: props.removalPolicy }),
          ),
        },
      },
    });
    this.subnets = this.vpc.selectSubnets({ subnetType: internet ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED }).subnets;

    this.securityGroup = new ec2.SecurityGroup(this, 'ExecutorSecurityGroup', {
      vpc: this.vpc,
      description: `TES executor tasks: no ingress; egress ${config.executorEgress}`,
      allowAllOutbound: internet,
    });
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'VPC interface endpoints: HTTPS from executor tasks only',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'executor tasks');

    const region = Stack.of(this).region;
    const account = Stack.of(this).account;
    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    // ECR's image layers, fetched through URLs ECR signs. The staging broker adds the prefixes the
    // storage policy allows, for its own role only (task-workflow.ts): no other credentials a task
    // might bring reach any bucket through this endpoint.
    this.s3Endpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [`arn:aws:s3:::prod-${region}-starport-layer-bucket/*`],
      }),
    );
    if (!internet) {
      // The subnets have no route out of the VPC: HTTPS can only reach the S3 gateway endpoint (whose
      // policy admits the buckets above) and the interface endpoints. Staging shares the executor's
      // network (one ENI per Fargate task), so `none` cannot be stricter than this without breaking
      // staging; the executor holds no credentials either way.
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the VPC endpoints (no route elsewhere)');
    }
    const interfaceEndpoint = (name: string, service: ec2.InterfaceVpcEndpointAwsService) =>
      this.vpc.addInterfaceEndpoint(name, { service, securityGroups: [endpointSecurityGroup], privateDnsEnabled: true, open: false });
    const ecrApi = interfaceEndpoint('EcrApi', ec2.InterfaceVpcEndpointAwsService.ECR);
    const ecrDocker = interfaceEndpoint('EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER);
    const logsEndpoint = interfaceEndpoint('Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS);
    // Its policy (execute-api:Invoke on the broker's API only) is added where the API is made.
    this.brokerEndpoint = interfaceEndpoint('StagingBroker', ec2.InterfaceVpcEndpointAwsService.APIGATEWAY);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      enableFargateCapacityProviders: true,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, 'ExecutorLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Pulls executor and runtime images and writes their logs; never visible inside the containers',
    });
    // Built from the bundled runtime and its Dockerfile alone (lambdas/runtime/image.ts): no npm
    // install in Docker, and a new image only when the runtime's code changes. Prepared inside the
    // cloud assembly's directory, so it goes when the assembly does.
    const assembly = Stage.of(this)?.outdir ?? mkdtempSync(join(tmpdir(), 'tes-runtime-image-'));
    this.runtimeImage = new ecrAssets.DockerImageAsset(this, 'RuntimeImage', {
      directory: prepareRuntimeImage(join(assembly, 'tes-runtime-image')),
      platform: ecrAssets.Platform.LINUX_ARM64,
    });
    // Images only from the repositories the admission allowlist names (and the runtime image's):
    // the execution role, and the ECR endpoints for anyone, allow no other pull.
    const repositories = [...ecrRepositoryArns(admissionFromEnv(config.admission).allowedImagePrefixes, region, account), this.runtimeImage.repository.repositoryArn];
    const pull = ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'];
    this.executionRole.addToPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    this.executionRole.addToPolicy(new iam.PolicyStatement({ actions: pull, resources: repositories }));
    this.logGroup.grantWrite(this.executionRole);
    for (const endpoint of [ecrApi, ecrDocker]) {
      endpoint.addToPolicy(new iam.PolicyStatement({ principals: [this.executionRole], actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
      endpoint.addToPolicy(new iam.PolicyStatement({ principals: [this.executionRole], actions: pull, resources: repositories }));
    }
    // Logs only into this stack's executor log group.
    logsEndpoint.addToPolicy(
      new iam.PolicyStatement({
        principals: [this.executionRole],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn, `${this.logGroup.logGroupArn}:*`],
      }),
    );
  }
}
