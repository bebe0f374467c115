/** The feature spec's cross-field rules and the errors a bad spec gives, each at its edge. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import { defaultSpecPath, loadSpec, parseSpec } from '../../src/scoring/spec.js';
import { tinySpec } from './helpers.js';

function refused(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the spec to be refused');
}

const withFeature = (i: number, patch: Record<string, unknown>) => {
  const spec = tinySpec();
  spec.features[i] = { ...spec.features[i]!, ...patch } as never;
  return spec;
};

describe('the spec\'s rules at their edges', () => {
  it('when a number\'s min equals its max, then the spec is valid; above it, refused', () => {
    expect(parseSpec(withFeature(1, { min: 5, max: 5 })).features[1]).toMatchObject({ min: 5, max: 5 });
    expect(parseSpec(withFeature(1, { min: 5 })).features[1]).toMatchObject({ min: 5 });
    expect(parseSpec(withFeature(1, { max: 5 })).features[1]).toMatchObject({ max: 5 });
    expect(refused(() => parseSpec(withFeature(1, { min: 5.5, max: 5 }))).message).toBe('Feature spec spec is invalid: features.1: min must not exceed max. See models/README.md, "Writing a spec".');
  });

  it('when the risk bands meet, then the spec is valid; medium above high, refused', () => {
    expect(parseSpec(tinySpec({ riskBands: { high: 40, medium: 40 } })).riskBands).toEqual({ high: 40, medium: 40 });
    expect(refused(() => parseSpec(tinySpec({ riskBands: { high: 40, medium: 41 } }))).message).toContain('riskBands: riskBands.medium must not exceed riskBands.high');
  });

  it('when picklist levels repeat, or a reference is not a level, then the message names the field; a null reference is fine', () => {
    expect(refused(() => parseSpec(withFeature(0, { levels: ['A', 'A'], impute: 'A', reference: [{ value: 'A', weight: 1 }] }))).message).toContain('features.0: Contract_Type__c: levels repeat');
    expect(refused(() => parseSpec(withFeature(0, { reference: [{ value: 'Weekly', weight: 1 }] }))).message).toContain('features.0: Contract_Type__c: reference value "Weekly" is not one of its levels');
    expect(parseSpec(withFeature(0, { reference: [{ value: null, weight: 1 }] })).features[0]).toMatchObject({ reference: [{ value: null, weight: 1 }] });
    expect(parseSpec(withFeature(0, { impute: undefined })).features[0]).toMatchObject({ impute: undefined });
  });

  it('when a feature appears twice, then the spec is refused naming it', () => {
    const spec = tinySpec();
    spec.features.push({ ...spec.features[1]! });
    expect(refused(() => parseSpec(spec, 'x.spec.json')).message).toBe('Feature spec x.spec.json is invalid: (root): feature Tenure_Months__c appears twice. See models/README.md, "Writing a spec".');
  });

  it('when a spec has many problems, then the first five are listed, each with its path', () => {
    const error = refused(() => parseSpec({ specVersion: 2, features: [] }, 's.json'));
    expect(error).toMatchObject({ code: 'MODEL_INVALID', problem: expect.stringMatching(/^Feature spec s\.json is invalid: specVersion: .*; modelVersion: .*; input: .*; output: .*; features: .*\.$/), details: { specPath: 's.json' }, hint: 'See models/README.md, "Writing a spec".' });
    expect(error.problem.split('; ')).toHaveLength(5);
  });

  it('when the spec path is derived from a model path, then only a final .onnx is replaced', () => {
    expect(defaultSpecPath('a.onnx.bak')).toBe('a.onnx.bak.spec.json');
    expect(defaultSpecPath('m.onnx')).toBe('m.spec.json');
  });

  it('when the spec file cannot be read, then the error names the full path and the reason, and says what to set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-rules-'));
    try {
      const missing = refused(() => loadSpec(join(dir, 'none.json')));
      expect(missing).toMatchObject({ code: 'MODEL_INVALID', problem: `Feature spec ${resolve(dir, 'none.json')} does not exist.`, hint: 'Set MODEL_SPEC_PATH, or put the spec beside the model as <model>.spec.json.', details: { specPath: join(dir, 'none.json') } });
      expect(refused(() => loadSpec(dir)).problem).toBe(`Feature spec ${resolve(dir)} cannot be read (EISDIR).`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
