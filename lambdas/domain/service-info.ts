/** GetServiceInfo: the GA4GH service-info 1.0 document plus TES's `storage` and backend parameters. */
import { SUPPORTED_BACKEND_PARAMETERS } from './backend-parameters.js';
import { toSpecShape } from './spec-shape.js';
import { TES_SPEC_VERSION, type TesServiceInfo } from './tes.js';

export interface ServiceInfoConfig {
  id: string;
  name: string;
  description?: string;
  organization: { name: string; url: string };
  contactUrl?: string;
  documentationUrl?: string;
  environment?: string;
  /** The deployed service's version. */
  version: string;
  /** When this deployment was created / last updated (RFC 3339). */
  createdAt?: string;
  updatedAt?: string;
}

/** The document; `storage`: the locations the caller's tasks may use (their own prefix first). */
export function serviceInfo(config: ServiceInfoConfig, storage: string[]): TesServiceInfo {
  return toSpecShape('tesServiceInfo', {
    id: config.id,
    name: config.name,
    type: { group: 'org.ga4gh', artifact: 'tes', version: TES_SPEC_VERSION },
    description: config.description,
    organization: config.organization,
    contactUrl: config.contactUrl,
    documentationUrl: config.documentationUrl,
    createdAt: config.createdAt,
    updatedAt: config.updatedAt,
    environment: config.environment,
    version: config.version,
    storage,
    tesResources_backend_parameters: [...SUPPORTED_BACKEND_PARAMETERS],
  });
}
