/**
 * The checks a model must pass before it can score anywhere: its spec parses, the fields it reads are
 * Account fields, and the engine's start-up checks pass (the model loads, its input and output match
 * the spec, a row built from the spec gives a probability). The registry runs them on import and
 * again on promotion; every process runs the engine's part again before it switches.
 */
import { AppError } from '../core/errors.js';
import { ScoringEngine } from './engine.js';
import { parseSpec } from './spec.js';

export async function checkModelBundle(
  model: { onnx: Uint8Array; spec: unknown },
  accountFields: ReadonlySet<string>,
  fieldSource = 'the Account fields this project deploys',
): Promise<{ version: string; features: string[] }> {
  const spec = parseSpec(model.spec, 'of the model');
  const features = spec.features.map((f) => f.field);
  const unknown = features.filter((f) => !accountFields.has(f));
  if (unknown.length > 0) {
    throw new AppError({
      code: 'MODEL_INVALID',
      message: `Model ${spec.modelVersion} reads fields that are not among ${fieldSource}: ${unknown.join(', ')}.`,
      hint: 'Create the fields on Account (or fix the spec); with Salesforce settings the import checks the org\'s own Account fields.',
      details: { fields: unknown },
    });
  }
  const engine = await ScoringEngine.load({ onnx: model.onnx, spec, label: `version ${spec.modelVersion}` });
  await engine.close();
  return { version: spec.modelVersion, features };
}
