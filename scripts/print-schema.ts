/**
 * Prints the generated artifacts — schema.graphql from the code-first schema, config.schema.json
 * from the configuration's zod schemas; with --check, fails (exit 1) when a committed file differs
 * from what the code builds.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { configJsonSchema } from '../src/config.js';
import { schema } from '../src/schema/index.js';

const artifacts = [
  {
    file: 'schema.graphql',
    text: `# Generated from the code-first schema (src/schema) by \`npm run schema:print\`. Do not edit.\n\n${printSchema(schema)}\n`,
  },
  { file: 'config.schema.json', text: `${JSON.stringify(configJsonSchema(), null, 2)}\n` },
];

let stale = false;
for (const { file, text } of artifacts) {
  const target = fileURLToPath(new URL(`../${file}`, import.meta.url));
  if (process.argv.includes('--check')) {
    const committed = await readFile(target, 'utf8').catch(() => '');
    if (committed !== text) {
      console.error(`${file} is stale: run \`npm run schema:print\` and commit the result.`);
      stale = true;
    } else console.log(`${file} is current.`);
  } else {
    await writeFile(target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
