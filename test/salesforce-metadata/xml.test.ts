import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkWellFormedXml, copyProject, listFiles, paths, SALESFORCE_ROOT } from './checks.js';

describe('salesforce/ XML files', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when every metadata file is read, then each is well-formed and in the Metadata API namespace', () => {
    expect(listFiles(SALESFORCE_ROOT).filter((f) => f.endsWith('-meta.xml')).length).toBeGreaterThan(30);
    expect(checkWellFormedXml(SALESFORCE_ROOT)).toEqual([]);
  });

  it('when a field file has an unclosed tag, then the check names the file and line', () => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, paths.fields, 'Churn_Score__c.field-meta.xml');
    writeFileSync(file, '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n    <label>Churn Score\n</CustomField>\n');
    const problems = checkWellFormedXml(root);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/objects\/Account\/fields\/Churn_Score__c\.field-meta\.xml:\d+/);
  });

  it('when a metadata file lacks the Metadata API namespace, then the check reports it', () => {
    const root = copyProject();
    copies.push(root);
    writeFileSync(join(root, paths.workflow), '<?xml version="1.0" encoding="UTF-8"?>\n<Workflow>\n</Workflow>\n');
    expect(checkWellFormedXml(root)).toEqual([expect.stringContaining('Account.workflow-meta.xml: the root element does not declare xmlns')]);
  });
});
