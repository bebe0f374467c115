/** Tiny specs and models for scoring tests, written to a temporary folder. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { SpecInput } from '../../src/scoring/spec.js';
import { logisticRegressionModel } from '../../src/training/onnx-builder.js';

const made: string[] = [];
// Every folder tempDir() made in a test file is removed when that file's tests are done.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'churn-scoring-'));
  made.push(dir);
  return dir;
}

/**
 * Three fields, five columns: Contract (picklist, 2 levels + unknown), Tenure (number), Paperless
 * (checkbox). Width 5.
 */
export function tinySpec(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    specVersion: 1,
    modelVersion: 'test-model-1',
    input: { name: 'features' },
    output: { name: 'probability' },
    features: [
      { field: 'Contract_Type__c', encoding: 'picklist', levels: ['Month-to-month', 'Two year'], impute: 'Month-to-month', reference: [{ value: 'Two year', weight: 1 }] },
      { field: 'Tenure_Months__c', encoding: 'number', impute: 24, reference: [{ value: 24, weight: 1 }] },
      { field: 'Paperless_Billing__c', encoding: 'checkbox', impute: false, reference: [{ value: false, weight: 1 }] },
    ],
    riskBands: { high: 50, medium: 25 },
    ...overrides,
  };
}

/** Weights per column of tinySpec: M2M, Two year, unknown, tenure, paperless. */
export const TINY_WEIGHTS = [1.5, -1.5, 0, -0.05, 0.8];
export const TINY_BIAS = -0.5;

export function writeModel(dir: string, name: string, bytes: Uint8Array, spec?: SpecInput): { modelPath: string; specPath: string } {
  const modelPath = join(dir, `${name}.onnx`);
  const specPath = join(dir, `${name}.spec.json`);
  writeFileSync(modelPath, bytes);
  if (spec) writeFileSync(specPath, JSON.stringify(spec));
  return { modelPath, specPath };
}

export function tinyModel(dir: string, spec: SpecInput = tinySpec(), weights = TINY_WEIGHTS, bias = TINY_BIAS) {
  return writeModel(dir, 'tiny', logisticRegressionModel({ weights, bias, inputName: 'features', outputName: 'probability' }), spec);
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
