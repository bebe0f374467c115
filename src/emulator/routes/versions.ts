/** GET /services/data: the API versions this org serves (no session needed, as in Salesforce). */
import { MIN_API_VERSION } from '../http/app.js';
import type { RouteModule } from '../http/context.js';

/** Release name of an API version: 20.0 was Winter '11, and there are three releases a year. */
export function releaseLabel(version: number): string {
  const n = version - 20;
  const season = ['Winter', 'Spring', 'Summer'][n % 3]!;
  return `${season} '${String(11 + Math.floor(n / 3)).padStart(2, '0')}`;
}

export const registerVersions: RouteModule = ({ root, state }) => {
  root.get('/services/data', (_req, res) => {
    const latest = Number(state.options.latestApiVersion);
    const versions = [];
    for (let v = MIN_API_VERSION; v <= latest; v++) versions.push({ label: releaseLabel(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
    res.json(versions);
  });
};
