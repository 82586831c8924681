/**
 * How an endpoint reaches its dependencies. In AWS each handler module builds them once from the
 * function's environment (on first use, then reused across invocations); the local stack passes
 * its own. The operations themselves never know which.
 */
import type { TesDeps } from '../usecases/deps.js';
import { apiHandler, type CallerOptions, type Operation } from './http.js';
import { cloudCaller, cloudDeps, configFromEnv, type CloudParts } from './config.js';

export interface Wiring {
  deps: TesDeps;
  caller: CallerOptions;
}

export type WiringSource = () => Wiring;

/**
 * The wiring of a deployed function, from its environment, built once per container, with the parts
 * only this function uses (given by its module, so no other function's bundle carries them).
 */
export function cloudWiringWith(parts: CloudParts): WiringSource {
  let cloud: Wiring | undefined;
  return () => {
    if (cloud === undefined) {
      const config = configFromEnv(process.env);
      cloud = { deps: cloudDeps(config, parts), caller: cloudCaller(config, parts) };
    }
    return cloud;
  };
}

/** The wiring of a deployed function that needs no part of its own. */
export const cloudWiring: WiringSource = cloudWiringWith({});

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
