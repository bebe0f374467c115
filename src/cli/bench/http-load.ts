/**
 * Shared pieces of the HTTP benchmarks: start the real web process as a child (so the load generator
 * and the server do not share an event loop), run autocannon against it on loopback, and read the
 * figures. Every run is bounded in time and stops by itself.
 */
import autocannon from 'autocannon';

export { startChild, type ChildServer } from '../children.js';

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  total: number;
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon({ ...options, timeout: 10 });
  return {
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
}
