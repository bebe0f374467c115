/**
 * POST /v1/predict: scores the records in the request (no Salesforce call) with the same scoring
 * engine the worker uses; GET /openapi.json describes it. What can be done once is: the schemas and
 * the OpenAPI document per model version, the body parser, the token keys (KeyObjects, in config).
 * Requests in flight together share scoring-thread calls (scoring/coalescer.ts), and the thread
 * answers in this API's shape.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { ScoreCoalescer, type CoalescerOptions } from '../../scoring/coalescer.js';
import type { CompactResult, ScoringThread } from '../../scoring/thread.js';
import { requireBearer, type TokenCheck } from './auth.js';
import { openApiDocument } from './openapi.js';
import { MAX_RECORDS, predictSchemas } from './schema.js';

export interface PredictRouteOptions {
  scoring: ScoringThread;
  /** Without it the API answers 503: it never runs unauthenticated. */
  auth?: TokenCheck;
  /** How concurrent requests share scoring-thread calls (scoring/coalescer.ts). */
  coalesce?: CoalescerOptions;
}

function badRequest(res: Response, message: string, details?: unknown[]): void {
  res.status(400).json({ error: { code: 'INVALID_REQUEST', message, ...(details ? { details } : {}) } });
}

export function predictRouter(options: PredictRouteOptions): Router {
  const router = Router();
  // Built once per champion: a promotion to a model with other fields changes the API with it.
  let built: { version: string; schemas: ReturnType<typeof predictSchemas>; document: unknown } | undefined;
  const current = () => {
    const { version, spec } = options.scoring.models.champion;
    if (built?.version !== version) {
      const schemas = predictSchemas(spec);
      built = { version, schemas, document: openApiDocument(schemas, version) };
    }
    return built;
  };

  router.get('/openapi.json', (_req, res) => {
    res.json(current().document);
  });

  if (!options.auth) {
    router.post('/v1/predict', (_req, res) => {
      res.status(503).json({ error: { code: 'NOT_CONFIGURED', message: 'The prediction API is off: set PREDICT_JWT_PUBLIC_KEYS (or _FILE) and PREDICT_JWT_ISSUER.' } });
    });
    return router;
  }

  const coalescer = new ScoreCoalescer<CompactResult>((records, o) => options.scoring.predict(records, o), options.coalesce);
  router.post(
    '/v1/predict',
    requireBearer(options.auth),
    express.json({ limit: '1mb', type: () => true, strict: true }),
    async (req: Request, res: Response) => {
      const body: unknown = req.body;
      if (body === undefined || (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)) {
        return badRequest(res, 'The body is empty; expected {"records": [...]} with 1 to 200 records.');
      }
      const { version, schemas } = current();
      const parsed = schemas.request.safeParse(req.body);
      if (!parsed.success) {
        const details = parsed.error.issues.slice(0, 20).map((issue) => {
          const [first, index, field] = issue.path;
          const record = first === 'records' && typeof index === 'number' ? index : undefined;
          const body = req.body as { records?: Array<{ Id?: unknown }> };
          const id = record !== undefined ? body.records?.[record]?.Id : undefined;
          const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : undefined;
          return {
            ...(record !== undefined ? { record } : {}),
            ...(typeof id === 'string' ? { id } : {}),
            ...(typeof field === 'string' ? { field } : unknownKeys ? { field: unknownKeys } : {}),
            message:
              issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}`
              : record === undefined && issue.code === 'too_big' ? `records: at most ${MAX_RECORDS} records per request`
              : record === undefined && issue.code === 'too_small' ? 'records: at least 1 record is required'
              : record === undefined ? `${issue.path.join('.') || 'body'}: ${issue.message}`
              : issue.message,
          };
        });
        const first = details[0]!;
        const where = first.record !== undefined ? `record ${first.record}${first.field ? `, field ${first.field}` : ''}: ` : '';
        return badRequest(res, `Invalid request: ${where}${first.message}.`, details);
      }
      // Scored by the model the request was validated for, even if a promotion lands meanwhile;
      // requests in flight together share one scoring-thread call per version.
      const results = await coalescer.score(parsed.data.records, { version });
      res.json({
        predictions: results.map((r) =>
          'error' in r
            ? { id: r.id, error: { code: r.error.code, message: r.error.message } }
            : { id: r.id, score: r.score, risk: r.risk, factors: r.factors, modelVersion: r.modelVersion },
        ),
      });
    },
  );

  router.use('/v1/predict', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') return void res.status(413).json({ error: { code: 'TOO_LARGE', message: 'The body is larger than 1 MB.' } });
    if (e.type === 'entity.parse.failed') return badRequest(res, `The body is not JSON: ${e.message}.`);
    if (typeof e.status === 'number' && e.status < 500) return badRequest(res, `The body could not be read: ${e.message}.`);
    next(error);
  });
  return router;
}
