import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './source.js';
import './progress.js';
import './operation.js';
import './aiven.js';

/** The whole API, sorted so that the printed schema.graphql diffs cleanly. */
export const schema = lexicographicSortSchema(builder.toSchema());
