/** A SOQL refusal in Salesforce's terms: errorCode plus message, answered as HTTP 400. */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR',
    message: string,
  ) {
    super(message);
    this.name = 'SoqlError';
  }
}

/**
 * Salesforce prefixes parse errors with the query and a caret under the offending column:
 * "\nSELECT Foo FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column ...".
 */
export function located(soql: string, offset: number, detail: string): string {
  const before = soql.slice(0, offset);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const column = offset - lineStart + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}
