/**
 * Prints the code-first schema to schema.graphql; with --check, fails (exit 1) when the committed
 * file differs from what the code builds.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = `# Generated from the code-first schema (src/schema) by \`npm run schema:print\`. Do not edit.\n\n${printSchema(schema)}\n`;

if (process.argv.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== printed) {
    console.error('schema.graphql is stale: run `npm run schema:print` and commit the result.');
    process.exit(1);
  }
  console.log('schema.graphql is current.');
} else {
  await writeFile(target, printed);
  console.log(`wrote ${target}`);
}
