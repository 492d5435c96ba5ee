/**
 * The OpenTelemetry SDK, loaded only when tracing is configured (Observability.ts imports this
 * module on demand): a server without OTEL_EXPORTER_OTLP_ENDPOINT never loads it.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { Context as OtelContext } from "@opentelemetry/api"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from "@opentelemetry/sdk-trace-base"

const REDACTED = "<redacted>"

const replaceAll = (text: string, raw: string, by: string) => raw === "" || raw === "/" ? text : text.split(raw).join(by)

/**
 * Paths and queries carry secrets here (`/l/{linkToken}`, tokens in compatibility routes' queries),
 * and Effect's HTTP span records the raw URL. Before a span ends, its URL becomes the route template
 * (or nothing, for a request that matched no route), its query is dropped, and the raw path is taken
 * out of the error status and exception events, where a 5xx's message quotes it.
 */
export class RedactUrls implements SpanProcessor {
  onStart(_span: Span, _parentContext: OtelContext): void {}
  onEnding(span: Span): void {
    const attributes = span.attributes
    const rawPath = attributes["url.path"]
    if (typeof rawPath !== "string") return
    const route = attributes["http.route"]
    const template = typeof route === "string" ? route : REDACTED
    span.setAttribute("url.path", template)
    const full = attributes["url.full"]
    if (typeof full === "string") {
      const origin = URL.parse(full)?.origin
      span.setAttribute("url.full", origin === undefined || origin === "null" ? REDACTED : `${origin}${typeof route === "string" ? route : ""}`)
    }
    if (attributes["url.query"] !== undefined) span.setAttribute("url.query", REDACTED)
    if (span.status.message !== undefined) span.setStatus({ ...span.status, message: replaceAll(span.status.message, rawPath, template) })
    for (const event of span.events) {
      const eventAttributes = event.attributes
      if (eventAttributes === undefined) continue
      for (const key of Object.keys(eventAttributes)) {
        const value = eventAttributes[key]
        if (typeof value === "string") eventAttributes[key] = replaceAll(value, rawPath, template)
      }
    }
  }
  onEnd(_span: ReadableSpan): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** Tracing through the given processors (tests pass an in-memory exporter's), URLs redacted first. */
export const layerWith = (processors: ReadonlyArray<SpanProcessor>, serviceName: string) =>
  NodeSdk.layer(() => ({ spanProcessor: [new RedactUrls(), ...processors], resource: { serviceName } }))

/** OTLP/HTTP to `{endpoint}/v1/traces` (the OTLP exporter spec's path for the base endpoint variable). */
export const layerOtlp = (endpoint: string, serviceName: string) => {
  const url = new URL("v1/traces", endpoint.endsWith("/") ? endpoint : `${endpoint}/`).href
  return layerWith([new BatchSpanProcessor(new OTLPTraceExporter({ url }))], serviceName)
}
