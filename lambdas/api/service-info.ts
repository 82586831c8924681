import { serviceInfo } from '../domain/service-info.js';
import { storageFor } from '../domain/storage-policy.js';
import { storagePolicyOf } from '../usecases/deps.js';
import { json } from './http.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { issuerVerifier } from './public-caller.js';

/** Public: anyone gets the document; an authenticated caller also learns where their own tasks' data goes. */
export const getServiceInfo = defineEndpoint('GetServiceInfo', ({ deps }) => (_event, context) =>
  Promise.resolve(json(200, serviceInfo(deps.serviceInfo, storageFor(storagePolicyOf(deps), context.callerKnown ? context.caller : undefined)))),
{ public: true });

export const handler = getServiceInfo.handler(cloudWiringWith({ publicTokens: issuerVerifier }));
