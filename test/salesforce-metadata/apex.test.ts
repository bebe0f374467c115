import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { apexSyntaxErrors, checkApex, copyProject, paths, SALESFORCE_ROOT } from './checks.js';

describe('salesforce/ Apex syntax', () => {
  const copies: string[] = [];
  afterEach(() => {
    for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('when every Apex class is parsed, then there is no syntax error and each has its -meta.xml', () => {
    expect(checkApex(SALESFORCE_ROOT)).toEqual([]);
  });

  it('when the parser is given broken Apex, then it reports the line', () => {
    expect(apexSyntaxErrors('public class A {\n  void m() {\n    Integer x = ;\n  }\n}\n')).toEqual([expect.stringMatching(/^3:\d+ /)]);
  });

  it('when a class in the project has a syntax error, then checkApex names the file and line', () => {
    const root = copyProject();
    copies.push(root);
    const file = join(root, paths.classes, 'ChurnScoreRefresh.cls');
    const source = readFileSync(file, 'utf8').replace('return results;\n    }', 'return results\n    }');
    writeFileSync(file, source);
    const problems = checkApex(root);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^force-app\/main\/default\/classes\/ChurnScoreRefresh\.cls:\d+:\d+ /);
  });

  it('when a class has no -meta.xml, then checkApex reports it', () => {
    const root = copyProject();
    copies.push(root);
    unlinkSync(join(root, paths.classes, 'ChurnScoreRefresh_Test.cls-meta.xml'));
    expect(checkApex(root)).toEqual([expect.stringContaining('ChurnScoreRefresh_Test.cls: no ')]);
  });
});
