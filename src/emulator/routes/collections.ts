/**
 * PATCH /services/data/vXX.X/composite/sobjects: sObject Collections update, up to 200 records,
 * one SaveResult per record in request order, HTTP 200 even when records fail
 * (resources_composite_sobjects_collections_update.htm). Only Account is emulated.
 */
import { ApiError } from '../http/errors.js';
import { apiLocals, type RouteModule } from '../http/context.js';
import { RequestError, updateAccounts, type RecordInput } from '../writes.js';

export const MAX_COLLECTION_RECORDS = 200;

export const registerCollections: RouteModule = ({ api, state, metered }) => {
  api.patch('/composite/sobjects', metered('collections'), (req, res) => {
    const body = req.body as { allOrNone?: unknown; records?: unknown } | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.records)) {
      throw new ApiError(400, 'JSON_PARSER_ERROR', 'The request body must be an object with a records array');
    }
    const records = body.records as unknown[];
    if (records.length > MAX_COLLECTION_RECORDS) {
      throw new ApiError(400, 'EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    }
    for (const record of records) {
      if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new ApiError(400, 'JSON_PARSER_ERROR', 'Each record must be a JSON object');
      const type = (record as { attributes?: { type?: unknown } }).attributes?.type;
      if (typeof type !== 'string') throw new ApiError(400, 'INVALID_TYPE', 'No SObject Type defined in attributes');
      if (type.toLowerCase() !== 'account') throw new ApiError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
    }
    if (body.allOrNone !== undefined && typeof body.allOrNone !== 'boolean') throw new ApiError(400, 'JSON_PARSER_ERROR', 'allOrNone must be a boolean');
    try {
      res.json(updateAccounts(state, records as RecordInput[], { allOrNone: body.allOrNone === true, user: apiLocals(res).session.user }));
    } catch (error) {
      if (error instanceof RequestError) throw new ApiError(400, error.errorCode, error.message);
      throw error;
    }
  });
};
