/**
 * Parser for the SOQL subset the emulator answers:
 *
 *   SELECT field [, field…] FROM Account
 *   [WHERE condition]            -- =, !=, <>, <, <=, >, >=, [NOT] IN (…), AND, OR, NOT, parentheses
 *   [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, …]]
 *   [LIMIT n]
 *
 * Literals: 'strings' with SOQL escapes, numbers, true/false, null, datetimes (2026-11-27T10:00:00Z).
 * Anything else (functions, aggregates, subqueries, relationships, LIKE, OFFSET, GROUP BY, date
 * literals such as TODAY, other objects) is refused with Salesforce's error code instead of being
 * answered wrongly. As in SOQL, AND and OR cannot be mixed without parentheses.
 */
import { OBJECT_NAME, type EmulatedField } from '../schema.js';
import { located, SoqlError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

export type Literal =
  | { type: 'string'; value: string; at: number }
  | { type: 'number'; value: number; at: number }
  | { type: 'boolean'; value: boolean; at: number }
  | { type: 'null'; at: number }
  | { type: 'datetime'; value: number; at: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'cmp'; field: EmulatedField; op: CompareOp; value: Literal }
  | { kind: 'in'; field: EmulatedField; negate: boolean; values: Literal[] }
  | { kind: 'and' | 'or'; parts: Condition[] }
  | { kind: 'not'; part: Condition };

export interface OrderTerm {
  field: EmulatedField;
  descending: boolean;
  nullsLast: boolean;
}

export interface ParsedQuery {
  fields: EmulatedField[];
  where?: Condition;
  orderBy: OrderTerm[];
  limit?: number;
}

/** Keywords of full SOQL the subset does not implement: named in the refusal so the reason is clear. */
const UNSUPPORTED = new Set(['OFFSET', 'GROUP', 'HAVING', 'WITH', 'FOR', 'USING', 'TYPEOF', 'LIKE', 'INCLUDES', 'EXCLUDES', 'UPDATE', 'VIEW', 'REFERENCE', 'ALL']);

function isPunct(t: Token, ch: string): boolean {
  return t.kind === 'punct' && t.text === ch;
}

export type FieldResolver = (name: string) => EmulatedField | undefined;

export function parseSoql(soql: string, resolveField: FieldResolver): ParsedQuery {
  return new Parser(soql, tokenize(soql), resolveField).query();
}

class Parser {
  private pos = 0;

  constructor(
    private readonly soql: string,
    private readonly tokens: Token[],
    private readonly resolveField: FieldResolver,
  ) {}

  query(): ParsedQuery {
    this.keyword('SELECT');
    // The object is checked before the fields, as Salesforce does: a query on another object is
    // "sObject type … is not supported", not "No such column … on entity 'Account'".
    this.checkObject(this.topLevelFromObject());
    const fields = this.selectList();
    this.keyword('FROM');
    const object = this.next();
    if (object.kind !== 'ident') this.unexpected(object);
    this.checkObject(object);
    const result: ParsedQuery = { fields, orderBy: [] };
    if (this.isKeyword('WHERE')) {
      this.pos++;
      result.where = this.condition();
    }
    if (this.isKeyword('ORDER')) {
      this.pos++;
      this.keyword('BY');
      result.orderBy = this.orderList();
    }
    if (this.isKeyword('LIMIT')) {
      this.pos++;
      const n = this.next();
      if (n.kind !== 'number' || !/^\d+$/.test(n.text)) this.unexpected(n);
      result.limit = Number(n.text);
    }
    const end = this.peek();
    if (end.kind !== 'eof') this.unexpected(end);
    return result;
  }

  /** The token after the first FROM outside parentheses (a subquery has its own). */
  private topLevelFromObject(): Token | undefined {
    let depth = 0;
    for (let i = 0; i < this.tokens.length - 1; i++) {
      const t = this.tokens[i]!;
      if (isPunct(t, '(')) depth++;
      else if (isPunct(t, ')')) depth--;
      else if (depth === 0 && t.kind === 'ident' && t.text.toUpperCase() === 'FROM') return this.tokens[i + 1];
    }
    return undefined;
  }

  private checkObject(object: Token | undefined): void {
    if (!object || object.kind !== 'ident' || object.text.toLowerCase() === OBJECT_NAME.toLowerCase()) return;
    throw new SoqlError(
      'INVALID_TYPE',
      located(this.soql, object.at, `sObject type '${object.text}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`),
    );
  }

  private selectList(): EmulatedField[] {
    const fields: EmulatedField[] = [];
    for (;;) {
      const t = this.next();
      if (isPunct(t, '(')) this.unsupported(t, 'subqueries');
      if (t.kind !== 'ident' || this.isReserved(t)) this.unexpected(t);
      if (isPunct(this.peek(), '(')) this.unsupported(t, `the function ${t.text.toUpperCase()}()`);
      const field = this.field(t);
      if (fields.includes(field)) throw new SoqlError('MALFORMED_QUERY', located(this.soql, t.at, `duplicate field selected: ${field.name}`));
      fields.push(field);
      if (!isPunct(this.peek(), ',')) return fields;
      this.pos++;
    }
  }

  private orderList(): OrderTerm[] {
    const terms: OrderTerm[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind !== 'ident' || this.isReserved(t)) this.unexpected(t);
      if (isPunct(this.peek(), '(')) this.unsupported(t, `the function ${t.text.toUpperCase()}()`);
      const field = this.field(t);
      let descending = false;
      if (this.isKeyword('ASC')) this.pos++;
      else if (this.isKeyword('DESC')) {
        this.pos++;
        descending = true;
      }
      // SOQL default: nulls first ascending, nulls last descending.
      let nullsLast = descending;
      if (this.isKeyword('NULLS')) {
        this.pos++;
        if (this.isKeyword('FIRST')) nullsLast = false;
        else if (this.isKeyword('LAST')) nullsLast = true;
        else this.unexpected(this.peek());
        this.pos++;
      }
      terms.push({ field, descending, nullsLast });
      if (!isPunct(this.peek(), ',')) return terms;
      this.pos++;
    }
  }

  /** A run of terms joined by one connective; mixing AND and OR needs parentheses, as in SOQL. */
  private condition(): Condition {
    const first = this.unary();
    let connective: 'and' | 'or' | undefined;
    const parts = [first];
    for (;;) {
      const t = this.peek();
      const word = t.kind === 'ident' ? t.text.toUpperCase() : '';
      if (word !== 'AND' && word !== 'OR') break;
      const kind = word === 'AND' ? 'and' : 'or';
      if (connective && connective !== kind) this.unexpected(t);
      connective = kind;
      this.pos++;
      parts.push(this.unary());
    }
    return connective ? { kind: connective, parts } : first;
  }

  private unary(): Condition {
    if (this.isKeyword('NOT')) {
      this.pos++;
      return { kind: 'not', part: this.unary() };
    }
    if (isPunct(this.peek(), '(')) {
      this.pos++;
      const inner = this.condition();
      this.expect(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const t = this.next();
    if (t.kind !== 'ident' || this.isReserved(t)) this.unexpected(t);
    if (isPunct(this.peek(), '(')) this.unsupported(t, `the function ${t.text.toUpperCase()}()`);
    const field = this.field(t);
    const opToken = this.next();
    if (opToken.kind === 'op') {
      const op = (opToken.text === '<>' ? '!=' : opToken.text) as CompareOp;
      return { kind: 'cmp', field, op, value: this.literal() };
    }
    const word = opToken.kind === 'ident' ? opToken.text.toUpperCase() : '';
    if (word === 'IN' || (word === 'NOT' && this.isKeyword('IN'))) {
      if (word === 'NOT') this.pos++;
      this.expect('(');
      if (this.isKeyword('SELECT')) this.unsupported(this.peek(), 'semi-join subqueries');
      const values = [this.literal()];
      while (isPunct(this.peek(), ',')) {
        this.pos++;
        values.push(this.literal());
      }
      this.expect(')');
      return { kind: 'in', field, negate: word === 'NOT', values };
    }
    this.unexpected(opToken);
  }

  private literal(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { type: 'string', value: t.text, at: t.at };
      case 'number':
        return { type: 'number', value: Number(t.text), at: t.at };
      case 'datetime': {
        const iso = t.text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
        const value = Date.parse(iso);
        if (Number.isNaN(value)) throw new SoqlError('MALFORMED_QUERY', located(this.soql, t.at, `line 1:${t.at} no viable alternative at character '${t.text}'`));
        return { type: 'datetime', value, at: t.at };
      }
      case 'date':
        this.unsupported(t, 'date literals (use a datetime such as 2026-11-27T00:00:00Z)');
        break;
      case 'ident': {
        const word = t.text.toLowerCase();
        if (word === 'true' || word === 'false') return { type: 'boolean', value: word === 'true', at: t.at };
        if (word === 'null') return { type: 'null', at: t.at };
        this.unsupported(t, `the date literal or bind ${t.text}`);
        break;
      }
      default:
        this.unexpected(t);
    }
    throw new Error('unreachable');
  }

  private field(t: Token): EmulatedField {
    const field = t.text.includes('.') ? undefined : this.resolveField(t.text);
    if (!field) {
      throw new SoqlError(
        'INVALID_FIELD',
        located(this.soql, t.at, `No such column '${t.text}' on entity '${OBJECT_NAME}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`),
      );
    }
    return field;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private isReserved(t: Token): boolean {
    return ['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IN', 'ORDER', 'BY', 'LIMIT', 'ASC', 'DESC', 'NULLS'].includes(t.text.toUpperCase()) || UNSUPPORTED.has(t.text.toUpperCase());
  }

  private keyword(word: string): void {
    const t = this.next();
    if (!(t.kind === 'ident' && t.text.toUpperCase() === word)) this.unexpected(t);
  }

  private expect(punct: string): void {
    const t = this.next();
    if (!isPunct(t, punct)) this.unexpected(t);
  }

  private unexpected(t: Token): never {
    if (t.kind === 'ident' && UNSUPPORTED.has(t.text.toUpperCase())) this.unsupported(t, t.text.toUpperCase());
    const shown = t.kind === 'string' ? `'${t.text}'` : t.text;
    throw new SoqlError('MALFORMED_QUERY', located(this.soql, t.at, `unexpected token: ${t.kind === 'eof' ? '<EOF>' : `'${shown}'`}`));
  }

  private unsupported(t: Token, what: string): never {
    throw new SoqlError('MALFORMED_QUERY', located(this.soql, t.at, `unexpected token: '${t.text}' (${what} is outside the local emulator's SOQL subset)`));
  }
}
