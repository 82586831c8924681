import { serviceInfo } from '../domain/service-info.js';
import { json } from './http.js';
import { cloudWiring, defineEndpoint } from './wiring.js';

export const getServiceInfo = defineEndpoint('GetServiceInfo', ({ deps }) => () =>
  Promise.resolve(json(200, serviceInfo(deps.serviceInfo))),
{ public: true });

export const handler = getServiceInfo.handler(cloudWiring);
