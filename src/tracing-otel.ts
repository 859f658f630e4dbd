import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, isTracingSuppressed, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_URL_FULL, ATTR_URL_PATH, ATTR_URL_QUERY } from '@opentelemetry/semantic-conventions';

/** Semantic conventions' `url.template` (still in the incubating set, so spelled out here). */
const ATTR_URL_TEMPLATE = 'url.template';
import { getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Logger } from './logger.js';
import type { Tracing, TracingOptions } from './tracing.js';
import { routeOf } from './sources/http.js';

/**
 * OpenTelemetry traces (docs/ARCHITECTURE.md, "Seeing it"), off unless an OTLP endpoint is
 * configured:
 * - a SERVER span per GraphQL operation (HTTP, SSE and graphql-ws alike: they share yoga's envelop),
 *   named `<type> <name>` ("query ServiceState"), with `graphql.operation.type/name` and an ERROR
 *   status carrying the errors' codes; a document refused by parsing or validation (the query
 *   limits) is an operation too, with an ERROR status;
 * - a CLIENT span per upstream HTTP call, from the official undici instrumentation (undici's
 *   diagnostics channels, which `Pool.request` in sources/http.ts publishes to), named
 *   `<method> <route template>` and a child of the operation (or poll tick) that made it;
 * - a poll loop's tick as its own root trace (`pollTick`, which the poller calls around each tick).
 *
 * What a span carries is deliberate: no query document, no variable values, no header, no token,
 * no URL query string, no URL credentials. The exporter is wrapped by a scrubber that enforces the
 * URL part on every span whatever set the attribute, and drops exception stack traces.
 *
 * Nothing is registered globally but the AsyncLocalStorage context manager (needed for
 * `context.with` to follow async/await; one per process, shared by every gateway in it): each
 * gateway has its own TracerProvider and exporter, so several gateways can live in one process.
 * No propagator is registered either, so upstream requests carry no `traceparent` header.
 */

const TRACER_NAME = 'backupgraph';
const FLUSH_TIMEOUT_MS = 5_000;

let contextManagerRegistered = false;

/** Starts tracing to `options.otlpEndpoint` (loaded by tracing.ts only when one is configured). */
export function startOtelTracing(options: TracingOptions, logger: Logger): Tracing {
  const log = logger.child({ component: 'tracing' });
  const url = tracesUrl(options.otlpEndpoint);
  registerContextManager();

  const exporter = new ScrubbingExporter(new OTLPTraceExporter({ url: url.href }), log);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'backupgraph' }),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer(TRACER_NAME);
  /** Operation and tick spans of this gateway: upstream calls are traced only beneath one of them. */
  const ours = new WeakSet<Span>();

  // Enabled at construction (it subscribes to undici's diagnostics channels); spans are made with
  // this gateway's provider, set right after.
  const undici = new UndiciInstrumentation({
    // Only calls made for an operation or a poll tick of this gateway (not start-up probes, not
    // another gateway's, not a test's own fetch to the gateway): every upstream span has a parent.
    ignoreRequestHook: () => {
      const active = context.active();
      const span = trace.getSpan(active);
      return isTracingSuppressed(active) || span === undefined || !ours.has(span);
    },
    // A path built from caller input (a project or service name out of a query's variables) is
    // recorded as its route template: the names stay out of the span, as out of metric labels.
    requestHook: (span, request) => {
      const path = request.path.split('?')[0] ?? '';
      const template = templateOf(path);
      if (!template) return;
      span.setAttributes({ [ATTR_URL_TEMPLATE]: template, [ATTR_URL_PATH]: template, [ATTR_URL_FULL]: `${originOf(request.origin)}${template}` });
      span.updateName(`${request.method} ${template}`);
    },
  });
  undici.setTracerProvider(provider);
  log.info({ endpoint: safeUrl(url) }, 'tracing to OTLP endpoint');

  let closing: Promise<void> | undefined;
  return {
    plugins: () => [useOperationSpans(tracer, ours)],
    pollTick(feed, tick) {
      const span = tracer.startSpan('poll', { kind: SpanKind.INTERNAL, root: true, attributes: { 'backupgraph.feed': feed } }, ROOT_CONTEXT);
      ours.add(span);
      const settle = (error?: unknown) => {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(error) });
        span.end();
      };
      return context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
        try {
          const result = await tick();
          settle();
          return result;
        } catch (error) {
          settle(error);
          throw error;
        }
      });
    },
    close: () =>
      (closing ??= (async () => {
        undici.disable();
        try {
          await provider.forceFlush({ timeoutMillis: FLUSH_TIMEOUT_MS });
        } catch (error) {
          log.warn({ error: errorCode(error) }, 'could not flush traces');
        }
        await provider.shutdown().catch(() => undefined);
      })()),
  };
}

function registerContextManager(): void {
  if (contextManagerRegistered) return;
  contextManagerRegistered = true;
  // False when the embedding process registered one already: that one is used.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** An origin (undici's `request.origin`, a string or a URL) without credentials. */
function originOf(origin: string | URL): string {
  try {
    const url = new URL(String(origin));
    return `${url.protocol}//${url.host}`;
  } catch {
    return '';
  }
}

function tracesUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url;
}

/** A URL without credentials, query or fragment: what may be logged or put on a span. */
function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * The route template of an upstream path ("/v1/project/{}/service"), from sources/http.ts's
 * `routeOf` (filled by `urlPath`); the client's base path (e.g. "/api/2.0") comes first in the
 * request path, so each suffix starting at a "/" is tried. Undefined for a path never built by
 * urlPath (constant paths): the span is then just named after the method.
 */
function templateOf(path: string): string | undefined {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const suffix = path.slice(i);
    const route = routeOf(suffix);
    if (route !== suffix) return path.slice(0, i) + route;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The GraphQL operation span.
//
// Hand-written rather than @envelop/opentelemetry (9.2.1): that plugin depends on the old
// @opentelemetry/sdk-trace-base 1.x (a second SDK whose API peer range excludes the installed
// 1.10), and by default records the variables and the document, which may carry secrets; a span
// per resolver is not wanted either. What is needed is small: a span around execute/subscribe,
// made active (context.with) so the upstream calls the resolvers make become its children.

type OperationType = 'query' | 'mutation' | 'subscription';

function useOperationSpans(tracer: Tracer, ours: WeakSet<Span>): Plugin {
  const start = (document: DocumentNode, operationName: string | null | undefined, contextValue: unknown): { span: Span; ctx: Context } => {
    const operation = getOperationAST(document, operationName);
    const type: OperationType = operation?.operation ?? 'query';
    const name = operation?.name?.value;
    const attributes: Attributes = {
      'graphql.operation.type': type,
      'backupgraph.transport': transportOf(contextValue),
    };
    if (name) attributes['graphql.operation.name'] = name;
    const span = tracer.startSpan(name ? `${type} ${name}` : type, { kind: SpanKind.SERVER, attributes }, context.active());
    ours.add(span);
    return { span, ctx: trace.setSpan(context.active(), span) };
  };

  /** A document that never ran (refused by parse or validation): a span of its own, ended at once. */
  const refused = (document: DocumentNode | undefined, contextValue: unknown, code: string, errors: number) => {
    const params = (contextValue as { params?: { operationName?: string | null } } | undefined)?.params;
    const { span } = document
      ? start(document, params?.operationName, contextValue)
      : (() => {
          const s = tracer.startSpan('graphql', { kind: SpanKind.SERVER, attributes: { 'backupgraph.transport': transportOf(contextValue) } });
          return { span: s };
        })();
    span.setAttribute('graphql.error.count', errors);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    span.end();
  };

  return {
    onParse({ context: contextValue }) {
      return ({ result }) => {
        if (result instanceof Error) refused(undefined, contextValue, 'GRAPHQL_PARSE_FAILED', 1);
      };
    },
    onValidate({ params, context: contextValue }) {
      return ({ valid, result }) => {
        if (!valid) refused(params.documentAST, contextValue, codesOf(result as readonly GraphQLError[], 'GRAPHQL_VALIDATION_FAILED'), result.length);
      };
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const { span, ctx } = start(args.document, args.operationName, args.contextValue);
      setExecuteFn((executionArgs) => context.with(ctx, () => executeFn(executionArgs)));
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) return finish(span, result as ExecutionResult);
          // Incremental delivery: the span lasts until the last payload.
          let failed: readonly GraphQLError[] = [];
          return {
            onNext: ({ result: next }) => {
              if (next.errors?.length) failed = [...failed, ...(next.errors as readonly GraphQLError[])];
            },
            onEnd: () => finish(span, { errors: failed }),
          };
        },
      };
    },
    // A subscription's span covers setting up its stream (where a live loop may start): its events
    // are the poll ticks' business, each a trace of its own.
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { span, ctx } = start(args.document, args.operationName, args.contextValue);
      setSubscribeFn((subscribeArgs) => context.with(ctx, () => subscribeFn(subscribeArgs)));
      return {
        onSubscribeResult({ result }) {
          finish(span, isAsyncIterable(result) ? {} : (result as ExecutionResult));
        },
        onSubscribeError({ error }) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(error) });
        },
      };
    },
  };
}

function finish(span: Span, result: Pick<ExecutionResult, 'errors'>): void {
  const errors = result.errors ?? [];
  if (errors.length > 0) {
    span.setAttribute('graphql.error.count', errors.length);
    // Codes only: a message may quote the caller's input (a variable value) or an upstream's words.
    span.setStatus({ code: SpanStatusCode.ERROR, message: codesOf(errors, 'GRAPHQL_ERROR') });
  }
  span.end();
}

function codesOf(errors: readonly GraphQLError[], fallback: string): string {
  const codes = new Set(errors.map((e) => (typeof e.extensions?.['code'] === 'string' ? (e.extensions['code'] as string) : fallback)));
  return [...codes].sort().join(',') || fallback;
}

function errorCode(error: unknown): string {
  const code = (error as { extensions?: { code?: unknown }; code?: unknown } | null)?.extensions?.code ?? (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'Error';
}

function transportOf(contextValue: unknown): string {
  return typeof contextValue === 'object' && contextValue !== null && 'socket' in contextValue ? 'graphql-ws' : 'http';
}

// ---------------------------------------------------------------------------------------------
// The exporter's last line of defence.

const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@]*@)?([^\s?#]*)(\?[^\s#]*)?(#\S*)?/gi;

/** URLs in a string lose their credentials, query string and fragment. */
function scrubText(value: string): string {
  return value.replace(URL_IN_TEXT, (_all, scheme: string, _userinfo, rest: string) => `${scheme}${rest}`);
}

function scrubValue(value: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof value === 'string') return scrubText(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? scrubText(v) : v)) as AttributeValue;
  return value;
}

function scrubAttributes(attributes: Attributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key === ATTR_URL_QUERY || key === 'exception.stacktrace' || key.startsWith('http.request.header.') || key.startsWith('http.response.header.')) continue;
    out[key] = key === ATTR_URL_FULL && typeof value === 'string' ? scrubText(value) : scrubValue(value);
  }
  return out;
}

/**
 * Wraps the OTLP exporter: every span is exported through a view whose attributes, event
 * attributes and status message are scrubbed (see scrubAttributes); export failures are logged
 * once per outage, without the endpoint's credentials.
 */
class ScrubbingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: Logger,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans.map(scrubSpan), (result) => {
      if (result.code !== ExportResultCode.SUCCESS && !this.failing) {
        this.failing = true;
        this.log.warn({ error: result.error ? scrubText(result.error.message).slice(0, 200) : undefined }, 'could not export traces');
      } else if (result.code === ExportResultCode.SUCCESS && this.failing) {
        this.failing = false;
        this.log.info('exporting traces again');
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** A view of an ended span (its other fields are read through the prototype) with scrubbed text. */
function scrubSpan(span: ReadableSpan): ReadableSpan {
  const status = span.status.message ? { ...span.status, message: scrubText(span.status.message) } : span.status;
  return Object.create(span, {
    name: { value: scrubText(span.name), enumerable: true },
    attributes: { value: scrubAttributes(span.attributes), enumerable: true },
    events: { value: span.events.map((e) => ({ ...e, attributes: e.attributes ? scrubAttributes(e.attributes) : e.attributes })), enumerable: true },
    status: { value: status, enumerable: true },
  }) as ReadableSpan;
}
