/**
 * GET /services/data/vXX.X/limits (resources_limits.htm): Max/Remaining per limit, for users with
 * the View Setup and Configuration permission only (http/permissions.ts has the refusal).
 */
import type { RouteModule } from '../http/context.js';
import { requirePermission } from '../http/permissions.js';

export const registerLimits: RouteModule = ({ api, state, metered }) => {
  api.get('/limits', metered('limits'), requirePermission('ViewSetup'), (_req, res) => {
    const l = state.limits;
    const entry = (max: number, used: number) => ({ Max: max, Remaining: Math.max(0, max - used) });
    res.json({
      ConcurrentAsyncGetReportInstances: entry(200, 0),
      ConcurrentSyncReportRuns: entry(20, 0),
      DailyApiRequests: entry(l.apiMax, l.apiUsed),
      DailyAsyncApexExecutions: entry(250_000, 0),
      DailyBulkApiBatches: entry(l.bulkApiBatchesMax, l.bulkApiBatchesUsed),
      DailyBulkV2QueryFileStorageMB: entry(l.bulkV2QueryFileStorageMBMax, l.bulkV2QueryFileStorageMBUsed),
      DailyBulkV2QueryJobs: entry(l.bulkV2QueryJobsMax, l.bulkV2QueryJobsUsed),
      // Salesforce counts about 2 KB of data storage per record.
      DataStorageMB: entry(Math.max(1024, Math.ceil((state.store.size * 2 * 1.5) / 1024)), Math.ceil((state.store.count * 2) / 1024)),
      FileStorageMB: entry(1024, 0),
      HourlyODataCallout: entry(10_000, 0),
      SingleEmail: entry(5000, 0),
    });
  });
};
