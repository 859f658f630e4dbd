// graphql-armor's packages have no "exports" map, so a bare import loads their CommonJS build,
// whose require('graphql') can be a second graphql instance under tsx and vitest (its errors then
// fail `instanceof GraphQLError`). Their ESM builds import the one graphql we use; these
// declarations give those files the packages' own types.
declare module '@escape.tech/graphql-armor-max-aliases/dist/graphql-armor-max-aliases.esm.js' {
  export * from '@escape.tech/graphql-armor-max-aliases';
}
declare module '@escape.tech/graphql-armor-max-depth/dist/graphql-armor-max-depth.esm.js' {
  export * from '@escape.tech/graphql-armor-max-depth';
}
declare module '@escape.tech/graphql-armor-max-tokens/dist/graphql-armor-max-tokens.esm.js' {
  export * from '@escape.tech/graphql-armor-max-tokens';
}
declare module '@escape.tech/graphql-armor-max-directives/dist/graphql-armor-max-directives.esm.js' {
  export * from '@escape.tech/graphql-armor-max-directives';
}
declare module '@escape.tech/graphql-armor-cost-limit/dist/graphql-armor-cost-limit.esm.js' {
  export * from '@escape.tech/graphql-armor-cost-limit';
}
declare module '@escape.tech/graphql-armor-block-field-suggestions/dist/graphql-armor-block-field-suggestions.esm.js' {
  export * from '@escape.tech/graphql-armor-block-field-suggestions';
}
