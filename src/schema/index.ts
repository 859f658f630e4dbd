import { lexicographicSortSchema } from 'graphql';
import { KINDS } from '../sources/kinds.js';
import { builder } from './builder.js';
import './scalars.js';
import './source.js';
import './progress.js';
import './operation.js';

// Each kind registers its own types, entry field, mutations and subscriptions.
await Promise.all(KINDS.map((kind) => kind.schema()));

/** The whole API, sorted so that the printed schema.graphql diffs cleanly. */
export const schema = lexicographicSortSchema(builder.toSchema());
