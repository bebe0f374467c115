/**
 * GET /services/data/vXX.X/query?q=SOQL and GET …/query/<locator>-<offset> (queryMore).
 * Pages hold at most 2000 records (or the `Sforce-Query-Options: batchSize=n` header, 200–2000);
 * `nextRecordsUrl` is present until the last page (resources_query.htm, headers_queryoptions.htm).
 * Each page renders the records' current values; the set of records is fixed when the query runs.
 */
import type { Request } from 'express';
import { ApiError } from '../http/errors.js';
import { apiLocals, type RouteModule } from '../http/context.js';
import { requirePermission } from '../http/permissions.js';
import { renderRecord } from '../render.js';
import { executeQuery } from '../soql/execute.js';
import { SoqlError } from '../soql/errors.js';
import { organizationQuery, organizationRecord } from '../soql/organization.js';
import { parseSoql } from '../soql/parser.js';
import type { EmulatorState, QueryCursor } from '../state.js';

function pageSize(req: Request, state: EmulatorState): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(req.get('sforce-query-options') ?? '');
  const requested = m ? Number(m[1]) : state.options.queryPageSize;
  return Math.min(state.options.queryPageSize, Math.max(200, requested));
}

function page(state: EmulatorState, cursor: QueryCursor, locator: string, offset: number, size: number, apiVersion: string) {
  const end = Math.min(cursor.rows.length, offset + size);
  const records = [];
  for (let i = offset; i < end; i++) records.push(renderRecord(state.store, cursor.rows[i]!, cursor.fields, apiVersion));
  // The locator stays open after the last page so a retried GET still answers; idle cursors expire.
  const done = end >= cursor.rows.length;
  return {
    totalSize: cursor.rows.length,
    done,
    ...(done ? {} : { nextRecordsUrl: `/services/data/v${apiVersion}/query/${locator}-${end}` }),
    records,
  };
}

export const registerQuery: RouteModule = ({ api, state, metered }) => {
  api.get('/query', metered('query'), (req, res, next) => {
    const soql = req.query.q;
    if (typeof soql !== 'string' || soql.trim() === '') {
      throw new ApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    }
    try {
      const organization = organizationQuery(soql);
      if (organization) {
        res.json({ totalSize: 1, done: true, records: [organizationRecord(organization, { orgId: state.orgId, apiVersion: apiLocals(res).apiVersion })] });
        return;
      }
    } catch (error) {
      if (error instanceof SoqlError) throw new ApiError(400, error.errorCode, error.message);
      throw error;
    }
    next();
  }, requirePermission('AccountRead'), (req, res) => {
    const soql = String(req.query.q);
    let rows: Int32Array;
    let fields;
    try {
      const parsed = parseSoql(soql, (name) => state.field(name));
      fields = parsed.fields;
      rows = executeQuery(state.store, parsed, soql);
    } catch (error) {
      if (error instanceof SoqlError) throw new ApiError(400, error.errorCode, error.message);
      throw error;
    }
    const { apiVersion, session } = apiLocals(res);
    state.store.noteRead(rows, session.user.id, state.now());
    const size = pageSize(req, state);
    if (rows.length <= size) {
      res.json({ totalSize: rows.length, done: true, records: Array.from(rows, (row) => renderRecord(state.store, row, fields, apiVersion)) });
      return;
    }
    // Copy out of the scan buffer so the cursor holds only its rows.
    const locator = state.cursors.open(rows.slice(), fields);
    res.json(page(state, state.cursors.get(locator)!, locator, 0, size, apiVersion));
  });

  api.get('/query/:locator', metered('queryMore'), (req, res) => {
    const m = /^(01g[A-Za-z0-9]{15})-(\d+)$/.exec(String(req.params.locator));
    const cursor = m ? state.cursors.get(m[1]!) : undefined;
    const offset = m ? Number(m[2]) : Number.NaN;
    if (!m || !cursor || offset > cursor.rows.length) throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    res.json(page(state, cursor, m[1]!, offset, pageSize(req, state), apiLocals(res).apiVersion));
  });
};
