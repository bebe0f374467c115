import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Every variable the config schema reads (the keys of `envSchema`). */
function schemaVariables(): string[] {
  const source = read('src/config/index.ts');
  const schema = source.slice(source.indexOf('const envSchema = z.object({'), source.indexOf('type Env ='));
  return [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
}

describe('configuration is documented', () => {
  const variables = schemaVariables();

  it('the schema was read', () => {
    expect(variables).toEqual(expect.arrayContaining(['REDIS_URL', 'SF_CLIENT_ID', 'OUTBOUND_PATH', 'MODEL_PATH']));
  });

  it('when a variable is in the schema, then .env.example has a line for it', () => {
    const example = read('.env.example');
    expect(variables.filter((v) => !new RegExp(`^${v}=`, 'm').test(example))).toEqual([]);
  });

  it('when a variable is in the schema, then the README configuration table names it', () => {
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'));
    expect(variables.filter((v) => !table.includes(`\`${v}\``) && !table.includes(`\`${v.replace(/_FILE$/, '')}\` / \`_FILE\``))).toEqual([]);
  });
});
