/**
 * How an endpoint reaches its dependencies. In AWS each handler module builds them once from the
 * function's environment (on first use, then reused across invocations); the local stack passes
 * its own. The operations themselves never know which.
 */
import type { TesDeps } from '../usecases/deps.js';
import { apiHandler, type CallerOptions, type Operation } from './http.js';
import { cloudDeps, configFromEnv } from './config.js';

export interface Wiring {
  deps: TesDeps;
  caller: CallerOptions;
}

export type WiringSource = () => Wiring;

let cloud: Wiring | undefined;

/** The wiring of a deployed function, from its environment, built once per container. */
export const cloudWiring: WiringSource = () => {
  if (cloud === undefined) {
    const config = configFromEnv(process.env);
    cloud = { deps: cloudDeps(config), caller: config.caller };
  }
  return cloud;
};

/** An endpoint: a name and the operation it runs given its dependencies. */
export interface Endpoint {
  name: string;
  /** Served without an authorizer. */
  public: boolean;
  handler: (wiring: WiringSource) => ReturnType<typeof apiHandler>;
}

/**
 * Declares an endpoint; `endpoint.handler(cloudWiring)` is what a Lambda module exports. A `public`
 * one answers without an authenticated caller (API Gateway puts no authorizer on its route).
 */
export function defineEndpoint(name: string, operation: (wiring: Wiring) => Operation, options: { public?: boolean } = {}): Endpoint {
  return {
    name,
    public: options.public === true,
    handler: (wiring) =>
      apiHandler(
        name,
        () => wiring().caller,
        (event, context) => operation(wiring())(event, context),
        options,
      ),
  };
}
