import { describe, expect, it } from 'vitest';
import { findField } from '../../src/emulator/schema.js';
import { SoqlError } from '../../src/emulator/soql/errors.js';
import { parseSoql } from '../../src/emulator/soql/parser.js';

const parse = (soql: string) => parseSoql(soql, findField);

describe('emulator: SOQL subset parser', () => {
  it('when keywords and field names are in any case, then they resolve to the API names', () => {
    const q = parse('select id, NAME from account where churned__c = TRUE order by name desc nulls first limit 5');
    expect(q.fields.map((f) => f.name)).toEqual(['Id', 'Name']);
    expect(q.orderBy).toEqual([{ field: findField('Name'), descending: true, nullsLast: false }]);
    expect(q.limit).toBe(5);
    expect(q.where).toMatchObject({ kind: 'cmp', op: '=', value: { type: 'boolean', value: true } });
  });

  it('when a string literal has escapes, then they are decoded', () => {
    const q = parse("SELECT Id FROM Account WHERE Name = 'O\\'Brien \\\\ \\n \\u0041'");
    expect(q.where).toMatchObject({ value: { type: 'string', value: "O'Brien \\ \n A" } });
  });

  it('when an escape is not SOQL, then it is a MALFORMED_QUERY', () => {
    expect(() => parse("SELECT Id FROM Account WHERE Name = 'a\\qb'")).toThrow(SoqlError);
  });

  it('when NOT IN, negative numbers and <> are used, then they parse', () => {
    const q = parse("SELECT Id FROM Account WHERE Tenure_Months__c > -1 AND Contract_Type__c NOT IN ('One year', 'Two year') AND Name <> 'x'");
    expect(q.where).toMatchObject({ kind: 'and', parts: [{ value: { value: -1 } }, { kind: 'in', negate: true }, { op: '!=' }] });
  });

  it('when an unknown field is used, then the error points at its column', () => {
    try {
      parse('SELECT Id, Nope__c FROM Account');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SoqlError);
      expect((error as SoqlError).errorCode).toBe('INVALID_FIELD');
      expect((error as SoqlError).message).toContain('ERROR at Row:1:Column:12');
      expect((error as SoqlError).message).toContain("No such column 'Nope__c' on entity 'Account'");
    }
  });
});
