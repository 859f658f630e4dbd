import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL's page for yoga's `renderGraphiQL` option, loaded when a browser first asks for it:
 * @graphql-yoga/render-graphiql inlines the whole editor (about 9 MB of strings), which a gateway
 * that no person opens should not hold in memory. The page is rendered once per distinct set of
 * options (in practice one) rather than rebuilt for every visit.
 */
export function renderGraphiQLOnFirstUse(): (options: GraphiQLOptions) => Promise<string> {
  let renderer: Promise<(options: GraphiQLOptions) => string> | undefined;
  let rendered: { optionsJson: string; page: string } | undefined;
  return async (options) => {
    const optionsJson = JSON.stringify(options ?? {});
    if (rendered?.optionsJson === optionsJson) return rendered.page;
    renderer ??= import('@graphql-yoga/render-graphiql').then((module) => module.renderGraphiQL);
    const page = (await renderer)(options);
    rendered = { optionsJson, page };
    return page;
  };
}
