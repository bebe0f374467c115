/** Tokens of the SOQL subset. Keywords are case-insensitive and come back as identifiers. */
import { located, SoqlError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifier or operator text; the decoded value of a string literal. */
  text: string;
  /** Offset of the token in the query. */
  at: number;
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(?![\w.])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\' };

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const ch = soql[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = soql.slice(i);
    if (ch === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= soql.length) throw new SoqlError('MALFORMED_QUERY', located(soql, i, 'unexpected token: <EOF>: unterminated string literal'));
        const c = soql[j]!;
        if (c === "'") break;
        if (c === '\\') {
          const next = soql[j + 1] ?? '';
          if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(soql.slice(j + 2, j + 6))) {
            value += String.fromCharCode(parseInt(soql.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          const decoded = ESCAPES[next];
          if (decoded === undefined) throw new SoqlError('MALFORMED_QUERY', located(soql, j, `Invalid string literal '\\${next}'. Illegal character sequence '\\${next}' in string literal.`));
          value += decoded;
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      tokens.push({ kind: 'string', text: value, at: i });
      i = j + 1;
      continue;
    }
    let m = DATETIME.exec(rest);
    if (m) {
      tokens.push({ kind: 'datetime', text: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = DATE.exec(rest);
    if (m) {
      tokens.push({ kind: 'date', text: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER.exec(rest);
    if (m && (/[\d.]/.test(ch) || ((ch === '-' || ch === '+') && isValueContext(tokens)))) {
      tokens.push({ kind: 'number', text: m[0], at: i });
      i += m[0].length;
      continue;
    }
    m = IDENT.exec(rest);
    if (m) {
      tokens.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
      continue;
    }
    const op = /^(!=|<>|<=|>=|=|<|>)/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', text: op[0], at: i });
      i += op[0].length;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', text: ch, at: i });
      i++;
      continue;
    }
    throw new SoqlError('MALFORMED_QUERY', located(soql, i, `unexpected token: '${ch}'`));
  }
  tokens.push({ kind: 'eof', text: '<EOF>', at: soql.length });
  return tokens;
}

/** A sign starts a number only where a value is expected (after an operator, `(` or `,`). */
function isValueContext(tokens: Token[]): boolean {
  const last = tokens[tokens.length - 1];
  return last !== undefined && (last.kind === 'op' || last.text === '(' || last.text === ',');
}
