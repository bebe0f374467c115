/**
 * GET /services/data: the API versions this org serves (no session needed, as in Salesforce), and
 * GET /services/data/vXX.X: the version's resource list ("Resources by Version",
 * resources_discoveryresource.htm), which jsforce and Salesforce's CLI call to check or refresh a
 * session (@salesforce/core Connection.refreshAuth) before `sf data export bulk` reads results. Only
 * the resources the emulator answers are listed.
 */
import { MIN_API_VERSION } from '../http/app.js';
import { apiLocals, type RouteModule } from '../http/context.js';

/** Release name of an API version: 20.0 was Winter '11, and there are three releases a year. */
export function releaseLabel(version: number): string {
  const n = version - 20;
  const season = ['Winter', 'Spring', 'Summer'][n % 3]!;
  return `${season} '${String(11 + Math.floor(n / 3)).padStart(2, '0')}`;
}

export const registerVersions: RouteModule = ({ root, api, state, metered }) => {
  root.get('/services/data', (_req, res) => {
    const latest = Number(state.options.latestApiVersion);
    const versions = [];
    for (let v = MIN_API_VERSION; v <= latest; v++) versions.push({ label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
    res.json(versions);
  });

  api.get('/', metered('other'), (_req, res) => {
    const base = `/services/data/v${apiLocals(res).apiVersion}`;
    res.json(Object.fromEntries(['sobjects', 'query', 'limits', 'composite', 'jobs'].map((name) => [name, `${base}/${name}`])));
  });
};
