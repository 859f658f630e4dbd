import { readFileSync } from 'node:fs';

/**
 * A small checker for the published ABS OpenAPI (v2.0.0) schemas kept in test/fixtures: types,
 * required keys, enums, `$ref` and `allOf`. Extra keys are allowed (newer builds add fields).
 */

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: Schema;
};

const document = JSON.parse(readFileSync(new URL('../fixtures/aerospike-openapi-v2.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, Schema> };
};

function resolve(schema: Schema): Schema {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = document.components.schemas[name];
    if (!target) throw new Error(`schema ${name} is not in the fixture`);
    return resolve(target);
  }
  if (schema.allOf) return schema.allOf.map(resolve).reduce((a, b) => ({ ...a, ...b, properties: { ...a.properties, ...b.properties } }), {});
  return schema;
}

/** Violations of `value` against the named schema; `skipEnums` names properties whose enum changed since v2. */
export function openApiViolations(schemaName: string, value: unknown, skipEnums: readonly string[] = []): string[] {
  const problems: string[] = [];
  const check = (schema: Schema, v: unknown, at: string, key: string): void => {
    const s = resolve(schema);
    if (s.enum && !skipEnums.includes(key) && !s.enum.includes(v)) problems.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
    switch (s.type) {
      case 'object':
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return void problems.push(`${at}: expected object`);
        for (const r of s.required ?? []) if (!(r in v)) problems.push(`${at}: missing required ${r}`);
        for (const [k, item] of Object.entries(v)) {
          const prop = s.properties?.[k] ?? s.additionalProperties;
          if (prop) check(prop, item, `${at}.${k}`, k);
        }
        return;
      case 'array':
        if (!Array.isArray(v)) return void problems.push(`${at}: expected array`);
        v.forEach((item, i) => s.items && check(s.items, item, `${at}[${i}]`, key));
        return;
      case 'integer':
        if (!Number.isInteger(v)) problems.push(`${at}: expected integer`);
        return;
      case 'string':
        if (typeof v !== 'string') problems.push(`${at}: expected string`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(`${at}: expected boolean`);
        return;
      default:
        return;
    }
  };
  check({ $ref: `#/components/schemas/${schemaName}` }, value, schemaName, '');
  return problems;
}
