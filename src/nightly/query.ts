/**
 * The Bulk query of a run: Id, the model's inputs and the outputs that decide a no-op (the one list in
 * core/scored-fields.ts), and the optional `--where` filter, checked before it reaches Salesforce.
 */
import { AppError } from '../core/errors.js';

const FORBIDDEN = /\b(select|from|limit|offset|order|group|having|with|for|update|using|typeof)\b/i;

/**
 * Checks a `--where` filter: one condition in SOQL's WHERE syntax, no statement separators, no
 * subqueries, no second FROM or clauses after the condition. Salesforce (or the emulator) parses it
 * for real when the query job is created; this refuses the obvious injections before that.
 */
export function validateWhere(where: string): string {
  const trimmed = where.trim();
  const refuse = (why: string): never => {
    throw new AppError({ code: 'NIGHTLY_FILTER_INVALID', message: `The filter ${JSON.stringify(trimmed.slice(0, 200))} is refused: ${why}.`, hint: 'Give one SOQL condition, e.g. --where "Contract_Type__c = \'Month-to-month\'".' });
  };
  if (trimmed === '') refuse('it is empty');
  if (trimmed.length > 4_000) refuse('it is longer than 4000 characters');
  // Blank out string literals (with \' escapes) so keywords inside quotes are allowed.
  let outside = '';
  let inString = false;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === "'") {
        inString = false;
        outside += "''";
      }
      continue;
    }
    if (c === "'") inString = true;
    else outside += c;
  }
  if (inString) refuse('a string literal is not closed');
  if (/[;`"]/.test(outside)) refuse('it contains ; ` or "');
  if (/--|\/\*/.test(outside)) refuse('it contains a comment');
  if (FORBIDDEN.test(outside)) refuse(`it contains the keyword ${FORBIDDEN.exec(outside)![1]!.toUpperCase()} (one condition only, no subquery or further clause)`);
  let depth = 0;
  for (const c of outside) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth < 0) refuse('its parentheses do not match');
  }
  if (depth !== 0) refuse('its parentheses do not match');
  return trimmed;
}

/** The Bulk query of a run: Id, the model's inputs and the outputs that decide a no-op. */
export function buildSoql(fields: readonly string[], where?: string): string {
  const unique = ['Id', ...new Set(fields.filter((f) => f.toLowerCase() !== 'id'))];
  return `SELECT ${unique.join(', ')} FROM Account${where ? ` WHERE ${validateWhere(where)}` : ''}`;
}
