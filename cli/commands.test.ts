/** `tes run` and Ctrl-C before the task has an id: the task it created is canceled, not left running. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TesClient } from './client.js';
import { run, type Context } from './commands.js';
import { Interrupted } from './follow.js';

describe('tes run', () => {
  it('cancels the task it was creating when Ctrl-C came before the server answered, and exits as interrupted', async () => {
    const calls: string[] = [];
    const client = {
      createTask: async () => {
        calls.push('create');
        // The user presses Ctrl-C while the create is on its way.
        process.emit('SIGINT');
        return Promise.resolve('01task');
      },
      cancelTask: async (id: string) => {
        calls.push(`cancel ${id}`);
        return Promise.resolve();
      },
      getTask: async () => {
        calls.push('get');
        return Promise.resolve({ id: '01task', state: 'RUNNING', executors: [] });
      },
    } as unknown as TesClient;
    const err: string[] = [];
    const context: Context = {
      client,
      json: false,
      quiet: false,
      stdout: () => undefined,
      stderr: (text) => err.push(text),
      stdin: new PassThrough(),
      terminal: {},
      environment: {},
    };
    const listeners = process.listenerCount('SIGINT');
    await expect(run(context, { image: 'busybox' }, ['true'])).rejects.toBeInstanceOf(Interrupted);
    expect(calls).toEqual(['create', 'cancel 01task']);
    expect(err.join('')).toContain('canceling task 01task');
    // Nothing of ours is left listening.
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });
});
