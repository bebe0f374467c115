/**
 * The feature spec: the data that ties an ONNX model to Account fields. It says which fields feed the
 * model and how each becomes numbers, the tensor names, the risk bands, the reference values the
 * reasons are measured against, and which Account fields receive the result. A different org with
 * different fields writes a new spec and brings a new model; no source changes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { OUTPUT } from '../core/account-fields.js';

const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'an Account field API name such as Tenure_Months__c');
const weight = z.number().positive().finite();

/**
 * Reference values for the reasons: the explainer replaces a field with each of these values in turn
 * and averages the scores with these weights. One value with weight 1 is "compared with a typical
 * value"; every level with its training frequency is "compared with the average customer".
 */
const numberReference = z.array(z.object({ value: z.number().finite(), weight })).min(1);

const common = {
  field: fieldName,
  /**
   * When true, a blank or unusable value makes the record fail with a per-record error naming the
   * field instead of being imputed.
   */
  required: z.boolean().default(false),
};

const numberFeature = z
  .object({
    ...common,
    encoding: z.literal('number'),
    /** Used for null, "", a missing key, a non-numeric string, a boolean or a non-finite number. */
    impute: z.number().finite(),
    reference: numberReference,
    /**
     * Plausible range. A value outside it is not imputed but fails the record with an error naming
     * the field (the prediction API answers 400), so a typo or a hostile -1e308 is never scored as if
     * it were a customer. Absent: any finite number.
     */
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
  })
  .refine((f) => f.min === undefined || f.max === undefined || f.min <= f.max, { message: 'min must not exceed max' });

const checkboxFeature = z.object({
  ...common,
  encoding: z.literal('checkbox'),
  /** Used for null, "", a missing key or a value that is not true/false/yes/no/1/0. */
  impute: z.boolean(),
  reference: z.array(z.object({ value: z.boolean(), weight })).min(1),
});

const picklistFeature = z
  .object({
    ...common,
    encoding: z.literal('picklist'),
    /** One column per level, in this order. */
    levels: z.array(z.string().min(1)).min(1),
    /** Adds a last column that is 1 for a blank or unseen value. */
    unknownColumn: z.boolean().default(true),
    /** Level column also set for a blank or unseen value (for models trained without unknowns). */
    impute: z.string().min(1).optional(),
    /** `value: null` stands for "blank or unseen". */
    reference: z.array(z.object({ value: z.string().min(1).nullable(), weight })).min(1),
  })
  .superRefine((f, ctx) => {
    if (new Set(f.levels).size !== f.levels.length) ctx.addIssue({ code: 'custom', message: `${f.field}: levels repeat` });
    if (f.impute !== undefined && !f.levels.includes(f.impute)) {
      ctx.addIssue({ code: 'custom', message: `${f.field}: impute "${f.impute}" is not one of its levels` });
    }
    for (const r of f.reference) {
      if (r.value !== null && !f.levels.includes(r.value)) {
        ctx.addIssue({ code: 'custom', message: `${f.field}: reference value "${r.value}" is not one of its levels` });
      }
    }
  });

const dateFeature = z.object({
  ...common,
  encoding: z.literal('date'),
  /** Days between the value and the moment of scoring (negative for future dates). */
  impute: z.number().finite(),
  reference: numberReference,
});

const featureSchema = z.union([numberFeature, checkboxFeature, picklistFeature, dateFeature]);

const shares = z.array(z.number().min(0).max(1).finite()).min(1);
/**
 * The training reference drift is measured against (core/drift.ts), fixed when the model was trained:
 * per field, quantile bins (numbers, dates) or levels (picklists, checkboxes), each with "unusable" and
 * "blank" bins after them, and the shares training saw; the score's quantile bins. Optional: a model
 * without it is scored as usual and its runs report no drift.
 */
const monitoringSchema = z.object({
  rows: z.number().int().min(1),
  fields: z.array(
    z.union([
      z.object({ field: fieldName, kind: z.literal('numeric'), edges: z.array(z.number().finite()), min: z.number().finite(), max: z.number().finite(), shares })
        .refine((f) => f.shares.length === f.edges.length + 3, { message: 'a numeric reference has edges + 3 shares (value bins, unusable, blank)' }),
      z.object({ field: fieldName, kind: z.literal('levels'), levels: z.array(z.string().min(1)).min(1), shares })
        .refine((f) => f.shares.length === f.levels.length + 2, { message: 'a levels reference has levels + 2 shares (levels, unusable, blank)' }),
    ]),
  ),
  score: z.object({ edges: z.array(z.number().finite()), shares }).refine((s) => s.shares.length === s.edges.length + 1, { message: 'the score reference has edges + 1 shares' }),
});

export const specSchema = z
  .object({
    specVersion: z.literal(1),
    /** Written to Churn_Model_Version__c (a 40-character text field). */
    modelVersion: z.string().min(1).max(40),
    /** The record key returned with each result. */
    idField: z.string().min(1).default('Id'),
    input: z.object({
      /** Name of the model's single float input, shape [N, width]. */
      name: z.string().min(1),
    }),
    output: z.object({
      /** Name of a float tensor output: [N] or [N, k] probabilities. */
      name: z.string().min(1),
      /** Column of the positive class when the output is [N, k]; defaults to the last column. */
      column: z.number().int().min(0).optional(),
    }),
    features: z.array(featureSchema).min(1),
    /** Scores (0-100) at or above `high` are High, at or above `medium` Medium, the rest Low. */
    riskBands: z
      .object({ high: z.number().min(0).max(100), medium: z.number().min(0).max(100) })
      .refine((b) => b.medium <= b.high, 'riskBands.medium must not exceed riskBands.high'),
    /** Account fields the results are written to. */
    outputFields: z
      .object({
        score: fieldName,
        risk: fieldName,
        factors: fieldName,
        modelVersion: fieldName,
        scoredAt: fieldName,
      })
      .default({ ...OUTPUT }),
    reasons: z
      .object({
        top: z.number().int().min(0).max(10).default(3),
        /** Length of the text field the factors go to. */
        maxLength: z.number().int().min(20).default(255),
      })
      .default({ top: 3, maxLength: 255 }),
    monitoring: monitoringSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const f of s.features) {
      if (seen.has(f.field)) ctx.addIssue({ code: 'custom', message: `feature ${f.field} appears twice` });
      seen.add(f.field);
    }
  });

export type FeatureSpec = z.infer<typeof specSchema>;
export type FeatureDef = FeatureSpec['features'][number];
export type SpecInput = z.input<typeof specSchema>;

/** Default spec location: the model path with `.onnx` replaced by `.spec.json`. */
export function defaultSpecPath(modelPath: string): string {
  return modelPath.endsWith('.onnx') ? `${modelPath.slice(0, -'.onnx'.length)}.spec.json` : `${modelPath}.spec.json`;
}

export function parseSpec(raw: unknown, source = 'spec'): FeatureSpec {
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new AppError({
      code: 'MODEL_INVALID',
      message: `Feature spec ${source} is invalid: ${issues.join('; ')}.`,
      hint: 'See models/README.md, "Writing a spec".',
      details: { specPath: source },
    });
  }
  return parsed.data;
}

export function loadSpec(path: string): FeatureSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError({
      code: 'MODEL_INVALID',
      message: `Feature spec ${resolve(path)} ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`}.`,
      hint: 'Set MODEL_SPEC_PATH, or put the spec beside the model as <model>.spec.json.',
      details: { specPath: path },
      cause: error,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AppError({ code: 'MODEL_INVALID', message: `Feature spec ${path} is not JSON: ${(error as Error).message}.`, details: { specPath: path }, cause: error });
  }
  return parseSpec(raw, path);
}
