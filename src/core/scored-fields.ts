/**
 * What both paths agree on about an Account's scores: which fields a path reads, which output fields
 * decide that a record is unchanged, and the rule itself. The real-time batch (core/rescore.ts) and
 * the nightly run (scoring/rows.ts, in the scoring thread) both call `isUnchanged`, so a record is
 * written by one path exactly when it would be written by the other.
 *
 * The rule: a record is unchanged when every compared output field it would be written with already
 * holds that value: the score (to the field's two decimals), the risk band, the reasons text (when the
 * path writes reasons) and the model version. The scoring time is not compared (it always moves).
 * Reasons are compared as text because they name the inputs that drove the score: the same score with
 * different inputs can have different reasons, and a stale reason would show a wrong cause on the
 * Account page.
 */

/** The output fields of a feature spec, by purpose. */
export interface OutputFieldNames {
  readonly score: string;
  readonly risk: string;
  readonly factors: string;
  readonly modelVersion: string;
  readonly scoredAt: string;
}

/** What this module needs of a feature spec (scoring/spec.ts's FeatureSpec has it). */
export interface ScoredSpec {
  readonly features: ReadonlyArray<{ readonly field: string }>;
  readonly outputFields: OutputFieldNames;
}

/** The output fields the rule compares: every output but the timestamp; the reasons only when written. */
export function comparedFields(outputs: OutputFieldNames, reasons = true): string[] {
  return [outputs.score, outputs.risk, ...(reasons ? [outputs.factors] : []), outputs.modelVersion];
}

/** The fields a path reads for each Account: the model's inputs, then the compared outputs, each once. */
export function fieldsToRead(spec: ScoredSpec): string[] {
  return [...new Set([...spec.features.map((f) => f.field), ...comparedFields(spec.outputFields)])];
}

/** Salesforce returns what it stored: compare numbers at the field's two decimals, blanks as equal. */
export function sameValue(current: unknown, next: unknown): boolean {
  const blank = (v: unknown) => v === null || v === undefined || v === '';
  if (blank(current) || blank(next)) return blank(current) && blank(next);
  if (typeof next === 'number') return Math.abs(Number(current) - next) < 0.005;
  return String(current) === String(next);
}

/**
 * The one rule for "unchanged": every compared field the new values carry (`next` answers undefined
 * for a field the path does not write) equals the record's current value.
 */
export function isUnchanged(compared: readonly string[], current: (field: string) => unknown, next: (field: string) => unknown): boolean {
  for (const field of compared) {
    const value = next(field);
    if (value !== undefined && !sameValue(current(field), value)) return false;
  }
  return true;
}
