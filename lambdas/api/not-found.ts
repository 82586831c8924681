/** The `$default` route: anything that is not a TES operation gets a 404 in the documented shape. */
import { NotFoundError } from '../domain/errors.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const notFound = defineEndpoint('NotFound', () => (event) =>
  Promise.reject(new NotFoundError(`no TES operation at ${event.requestContext.http.method} ${event.rawPath}`)),
{ public: true });

export const handler = notFound.handler(cloudWiring);
