/**
 * The deployed API's wiring from its environment, as a function gets it: what configFromEnv reads
 * and what cloudDeps builds from it (no AWS call is made to build it).
 */
import { describe, expect, it } from 'vitest';
import { CloudWatchLogStore, cloudWatchLogStore } from '../adapters/cloudwatch-log-store.js';
import { cloudDeps, configFromEnv } from './config.js';

const base = {
  AWS_REGION: 'eu-west-1',
  TES_TABLE_NAME: 'tasks',
  TES_BUCKET: 'service-bucket',
  TES_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:1:stateMachine:tes',
};

describe('the deployed API wiring', () => {
  it("gives GetTask, whose module gives the part, a log store for a running executor's output when TES_EXECUTOR_LOG_GROUP is set", () => {
    const withLogGroup = configFromEnv({ ...base, TES_EXECUTOR_LOG_GROUP: '/tes/executors' });
    expect(cloudDeps(withLogGroup, { logStore: cloudWatchLogStore }).logs).toBeInstanceOf(CloudWatchLogStore);
    expect(cloudDeps(configFromEnv(base), { logStore: cloudWatchLogStore }).logs).toBeUndefined();
    // A function whose module gives no log store has none, whatever its environment.
    expect(cloudDeps(withLogGroup).logs).toBeUndefined();
  });

  it('signs page tokens only where TES_PAGE_TOKEN_SECRET is, and reads the storage policy', () => {
    expect(cloudDeps(configFromEnv(base)).pageTokens).toBeUndefined();
    const deps = cloudDeps(configFromEnv({ ...base, TES_PAGE_TOKEN_SECRET: Buffer.alloc(32, 1).toString('base64'), TES_STORAGE_RULES: 's3://lab/{owner}/=readwrite' }));
    expect(deps.pageTokens).toBeDefined();
    expect(deps.storage?.rules).toEqual([{ bucket: 'lab', prefix: '{owner}/', access: 'readwrite', adminOnly: false }]);
  });

  it('names the variable that is missing', () => {
    expect(() => configFromEnv({ ...base, TES_TABLE_NAME: '' })).toThrow('TES_TABLE_NAME is not set');
  });
});
