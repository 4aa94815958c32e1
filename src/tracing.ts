/**
 * OpenTelemetry traces, from the webhook through the incident's run to each vendor call: an HTTP
 * server span per request (@opentelemetry/instrumentation-http), Temporal's own interceptors on
 * the Clients (start, signal-with-start and updates carry the trace in a header), on every worker's
 * activities and, for runs whose start carried a trace, in the workflow (src/workflows/tracing.ts,
 * exported through a sink). Spans go out over OTLP/HTTP. Nothing here runs unless tracing is on
 * (`config.tracing`, set by OTEL_EXPORTER_OTLP_ENDPOINT): with it off, warroom has no tracer, no
 * HTTP patch and no interceptors.
 */
import { createRequire } from 'node:module';
import { context, diag, DiagLogLevel, propagation, trace, type Attributes, type AttributeValue } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import { redactor } from './activities/errors.js';
import { QUIET_ROUTES } from './api.js';
import type { TracingSettings } from './config.js';

/** Tracing of one process, handed to its Temporal Clients and workers. */
export interface Tracing {
  /** For every Temporal Client of the process: a span per start, signal-with-start, signal and update, its context in a header. */
  readonly clientInterceptors: ClientInterceptors;
  /** For every worker: a RunActivity span per attempt, child of the workflow's StartActivity span. */
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** The sink workflow runs export their spans through (src/workflows/tracing.ts). */
  readonly sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Sends the spans still buffered and stops tracing. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** Where spans go instead of OTLP (tests: an in-memory exporter), each as soon as it ends. */
  exporter?: SpanExporter;
  /** Values that must never leave in a span (the configured secrets): replaced wherever they appear. */
  secrets?: readonly string[];
  /** Where OpenTelemetry's own warnings and errors go (a collector that refuses or is down). */
  warn?: (message: string) => void;
}

let started = false;

/** Starts tracing for this process: once, before the API listens and before Clients and workers are made. */
export function startTracing(settings: TracingSettings, options: TracingOptions = {}): Tracing {
  if (started) throw new Error('tracing is already started in this process');
  started = true;
  const { warn } = options;
  const redact = redactor(options.secrets ?? []);
  if (warn) {
    const say = (message: string, ...args: unknown[]) => warn(redact([message, ...args.map(String)].join(' ')));
    const quiet = () => undefined;
    diag.setLogger({ error: say, warn: say, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  }
  const resource = new Resource({ 'service.name': settings.serviceName, ...settings.resourceAttributes });
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: settings.url, headers: settings.headers });
  const processor = new RedactingSpanProcessor(
    options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    redact,
  );
  const provider = new NodeTracerProvider({ resource, sampler: samplerOf(settings), spanProcessors: [processor] });
  // The global tracer, context manager (AsyncLocalStorage) and W3C propagator: Temporal's interceptors use them.
  provider.register();

  const http = new HttpInstrumentation({
    // Vendor calls are traced as activities; their URLs may hold secrets (VictorOps' REST URL).
    disableOutgoingRequestInstrumentation: true,
    // Probes and scrapes arrive every few seconds and say nothing about incidents.
    ignoreIncomingRequestHook: (request) => QUIET_ROUTES.has(pathOf(request.url)),
    // The query string may hold a token (VictorOps outgoing webhooks' ?token=): never recorded.
    startIncomingSpanHook: (request) => ({
      'http.target': pathOf(request.url),
      'http.url': `http://${request.headers.host ?? 'localhost'}${pathOf(request.url)}`,
    }),
  });
  registerInstrumentations({ tracerProvider: provider, instrumentations: [http] });
  // ES module imports of node:http pass no require hook: requiring it once applies the patch now.
  createRequire(import.meta.url)('node:http');

  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    async shutdown() {
      http.disable();
      await provider.shutdown();
      // The process's globals as before: a later startTracing registers afresh.
      trace.disable();
      propagation.disable();
      context.disable();
      diag.disable();
      started = false;
    },
  };
}

/**
 * The sink a worker without tracing registers: a run started by an API that traces still exports
 * its spans somewhere, and they are dropped here instead of being logged as calls to a missing sink.
 */
export const NO_TRACING_SINKS: InjectedSinks<OpenTelemetrySinks> = { exporter: { export: { fn: () => undefined } } };

/** A request's path without its query string. */
function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0] || '/';
}

function samplerOf({ sampler, samplerRatio }: TracingSettings): Sampler {
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(samplerRatio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplerRatio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** Whether a value is one OpenTelemetry allows as an attribute: a primitive, or an array of them. */
function isAttributeValue(item: unknown): item is AttributeValue {
  const primitive = (value: unknown) => value == null || ['string', 'number', 'boolean'].includes(typeof value);
  return (primitive(item) && item != null) || (Array.isArray(item) && item.every(primitive));
}

/**
 * Hands ended spans on with every configured secret value replaced, in attributes, event attributes
 * and the status message: what a span records comes from requests, errors and libraries, and none
 * of it may carry a secret out of the process. Attribute values OpenTelemetry does not allow are
 * dropped: the workflow sink copies the run's whole WorkflowInfo into its spans, memo and search
 * attributes included, where only its ids and names are attributes.
 */
class RedactingSpanProcessor implements SpanProcessor {
  constructor(
    private readonly next: SpanProcessor,
    private readonly text: (value: string) => string,
  ) {}

  onStart(...args: Parameters<SpanProcessor['onStart']>): void {
    this.next.onStart(...args);
  }

  onEnd(span: ReadableSpan): void {
    this.next.onEnd(this.redacted(span));
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  private redacted(span: ReadableSpan): ReadableSpan {
    const { text } = this;
    let dropped = 0;
    const value = (item: AttributeValue): AttributeValue =>
      typeof item === 'string'
        ? text(item)
        : Array.isArray(item)
          ? (item.map((entry) => (typeof entry === 'string' ? text(entry) : entry)) as AttributeValue)
          : item;
    const attributes = (from: Attributes | undefined): Attributes =>
      Object.fromEntries(
        Object.entries(from ?? {}).flatMap(([key, item]) => {
          if (isAttributeValue(item)) return [[key, value(item)]];
          dropped += 1;
          return [];
        }),
      );
    const kept = attributes(span.attributes);
    const droppedAttributesCount = span.droppedAttributesCount + dropped;
    return {
      name: text(span.name),
      kind: span.kind,
      spanContext: () => span.spanContext(),
      parentSpanId: span.parentSpanId,
      startTime: span.startTime,
      endTime: span.endTime,
      status: span.status.message === undefined ? span.status : { ...span.status, message: text(span.status.message) },
      attributes: kept,
      links: span.links,
      events: span.events.map((event) => ({ ...event, attributes: event.attributes && attributes(event.attributes) })),
      duration: span.duration,
      ended: span.ended,
      resource: span.resource,
      instrumentationLibrary: span.instrumentationLibrary,
      droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
  }
}
