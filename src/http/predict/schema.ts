/**
 * The prediction API's request and response schemas, built from the feature spec, so a model with
 * other fields gets an API with those fields. The OpenAPI document is generated from the same
 * schemas, so the two cannot drift apart.
 */
import { z } from 'zod';
import { isRecordId } from '../../core/record-id.js';
import type { FeatureSpec } from '../../scoring/spec.js';

export const MAX_RECORDS = 200;
const recordId = z.string().refine(isRecordId, 'a 15- or 18-character Salesforce id (18 characters: with its case checksum)');

function fieldSchema(def: FeatureSpec['features'][number]) {
  switch (def.encoding) {
    case 'number': {
      let n = z.number();
      if (def.min !== undefined) n = n.min(def.min, `${def.field} must be at least ${def.min}`);
      if (def.max !== undefined) n = n.max(def.max, `${def.field} must be at most ${def.max}`);
      return n.nullable();
    }
    case 'checkbox':
      return z.boolean().nullable();
    case 'picklist':
      return z.string().max(255).nullable();
    case 'date':
      return z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'an ISO date or date-time').nullable();
  }
}

export function predictSchemas(spec: FeatureSpec) {
  const fields = Object.fromEntries(spec.features.map((f) => [f.field, fieldSchema(f).optional()]));
  const record = z.strictObject({ Id: recordId, ...fields });
  const request = z.strictObject({ records: z.array(record).min(1).max(MAX_RECORDS) });
  const prediction = z.object({
    id: z.string(),
    score: z.number().min(0).max(100),
    risk: z.enum(['High', 'Medium', 'Low']),
    factors: z.string().max(spec.reasons.maxLength),
    modelVersion: z.string(),
  });
  const recordError = z.object({ id: z.string(), error: z.object({ code: z.string(), message: z.string() }) });
  const response = z.object({ predictions: z.array(z.union([prediction, recordError])) });
  const error = z.object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ record: z.number().int().optional(), id: z.string().optional(), field: z.string().optional(), message: z.string() })).optional(),
    }),
  });
  return { record, request, prediction, recordError, response, error };
}

export type PredictSchemas = ReturnType<typeof predictSchemas>;
