/** Every endpoint module, registered in this order. Add a module here to add an endpoint. */
import type { RouteModule } from '../http/context.js';
import { registerAdmin } from './admin.js';
import { registerBulkIngest } from './bulk-ingest.js';
import { registerBulkQuery } from './bulk-query.js';
import { registerCollections } from './collections.js';
import { registerDescribe } from './describe.js';
import { registerLimits } from './limits.js';
import { registerOAuth } from './oauth.js';
import { registerOutbound } from './outbound.js';
import { registerQuery } from './query.js';
import { registerVersions } from './versions.js';

export const ROUTE_MODULES: readonly RouteModule[] = [
  registerOAuth,
  registerVersions,
  registerLimits,
  registerQuery,
  registerCollections,
  registerDescribe,
  registerBulkQuery,
  registerBulkIngest,
  registerAdmin,
  registerOutbound,
];
