import { GraphQLError, Kind } from 'graphql';
import { quote } from '../errors.js';
import { builder } from './builder.js';

function parseDateTime(value: unknown): string {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}T/.test(value)) return new Date(ms).toISOString();
  }
  throw new GraphQLError(`DateTime must be an ISO 8601 date-time string such as "2026-01-01T00:00:00Z", got ${quote(value)}`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

builder.scalarType('DateTime', {
  description: 'An ISO 8601 date-time in UTC, e.g. 2026-11-23T16:21:24.000Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseDateTime(ast.value);
  },
});

builder.scalarType('JSON', {
  description: 'Vendor configuration passed through unchanged (any JSON value).',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast) => valueFromLiteral(ast),
});

function valueFromLiteral(ast: import('graphql').ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(valueFromLiteral);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, valueFromLiteral(f.value)]));
    default:
      throw new GraphQLError('JSON literals cannot contain variables', { extensions: { code: 'BAD_USER_INPUT' } });
  }
}
