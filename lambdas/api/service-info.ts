import { serviceInfo } from '../domain/service-info.js';
import { storageFor } from '../domain/storage-policy.js';
import { storagePolicyOf } from '../usecases/deps.js';
import { json } from './http.js';
import { cloudWiringWith, defineEndpoint } from './wiring.js';
import { issuerVerifier } from './public-caller.js';

/** The path TES 1.0 served service-info at (routes.ts aliases it), where only TES 1.0 clients ask. */
const TES_1_0_PATH = '/tasks/service-info';

/**
 * Public: anyone gets the document; an authenticated caller also learns where their own tasks' data
 * goes. At TES 1.0's path it answers in TES 1.0's shape (`name`, `doc`, `storage`): the clients that
 * ask there (py-tes 0.4, which Snakemake's TES plugin pins) refuse any other field.
 */
export const getServiceInfo = defineEndpoint('GetServiceInfo', ({ deps }) => (event, context) => {
  const info = serviceInfo(deps.serviceInfo, storageFor(storagePolicyOf(deps), context.callerKnown ? context.caller : undefined));
  if (!event.routeKey.endsWith(TES_1_0_PATH)) return Promise.resolve(json(200, info));
  return Promise.resolve(json(200, { name: info.name, ...(info.description === undefined ? {} : { doc: info.description }), storage: info.storage ?? [] }));
},
{ public: true });

export const handler = getServiceInfo.handler(cloudWiringWith({ publicTokens: issuerVerifier }));
