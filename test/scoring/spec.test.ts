import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/core/errors.js';
import { defaultSpecPath, loadSpec, parseSpec } from '../../src/scoring/spec.js';
import { tinySpec } from './helpers.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('feature spec', () => {
  it('when the model path ends in .onnx, then the spec sits beside it as .spec.json', () => {
    expect(defaultSpecPath('models/churn-gbt.onnx')).toBe('models/churn-gbt.spec.json');
    expect(defaultSpecPath('/m/model')).toBe('/m/model.spec.json');
  });

  it('when a spec is valid, then defaults are filled in (Id key, output fields, 3 reasons in 255 chars)', () => {
    const spec = parseSpec(tinySpec());
    expect(spec.idField).toBe('Id');
    expect(spec.outputFields.score).toBe('Churn_Score__c');
    expect(spec.reasons).toEqual({ top: 3, maxLength: 255 });
  });

  it('when a picklist reference or impute is not a level, then loading fails with MODEL_INVALID naming it', () => {
    const spec = tinySpec();
    spec.features[0] = { ...spec.features[0]!, impute: 'Weekly' } as never;
    const error = thrown(() => parseSpec(spec, 'x.spec.json'));
    expect(isAppError(error, 'MODEL_INVALID')).toBe(true);
    expect(error.message).toContain('Contract_Type__c: impute "Weekly" is not one of its levels');
  });

  it('when the model version is longer than the 40-character field, then loading fails naming the path', () => {
    const error = thrown(() => parseSpec(tinySpec({ modelVersion: 'x'.repeat(41) })));
    expect(error.message).toMatch(/modelVersion: .*40/);
  });

  it('when the spec file is missing or not JSON, then the error says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    try {
      expect(thrown(() => loadSpec(join(dir, 'none.spec.json'))).message).toContain(`Feature spec ${join(dir, 'none.spec.json')} does not exist.`);
      writeFileSync(join(dir, 'bad.spec.json'), '{ nope');
      expect(thrown(() => loadSpec(join(dir, 'bad.spec.json'))).message).toContain('is not JSON');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
