/** The OpenAPI 3.1 document of the prediction API, generated from the same zod schemas the handler uses. */
import { z } from 'zod';
import type { PredictSchemas } from './schema.js';

export function openApiDocument(schemas: PredictSchemas, modelVersion: string) {
  const json = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'churn-worker prediction API',
      version: '1.0.0',
      description: `On-demand churn scores for Salesforce Accounts (model ${modelVersion}). Called by the Apex action "Refresh churn score" through a Named Credential.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/v1/predict': {
        post: {
          operationId: 'predict',
          summary: 'Score 1 to 200 Accounts',
          security: [{ salesforceJwt: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictRequest' } } } },
          responses: {
            '200': {
              description: 'One entry per record, in request order: a prediction or a per-record error.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictResponse' } } },
            },
            '400': errorResponse('The body is not JSON, or a record or field is invalid; details name the record and field.'),
            '401': errorResponse('The bearer token is missing or does not verify.'),
            '413': errorResponse('The body is too large.'),
            '503': errorResponse('The API is not configured or the model is not loaded.'),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        salesforceJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'RS256 JWT signed by the org certificate of the Named Credential.' },
      },
      schemas: {
        PredictRequest: json(schemas.request, 'input'),
        PredictResponse: json(schemas.response, 'output'),
        Error: json(schemas.error, 'output'),
      },
    },
  };
}
