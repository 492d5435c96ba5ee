import * as http from "node:http"
import * as https from "node:https"
import type { LookupFunction } from "node:net"
import { Context, Effect, Layer } from "effect"
import { AppConfig } from "../platform/Config.ts"
import { refusal } from "./AddressPolicy.ts"
import { OutboundError, type ResolvedAddress, Resolver } from "./Resolver.ts"

export interface OutboundPolicy {
  /** WEBHOOKS_ALLOW_PRIVATE: skip the address checks (development and tests only). */
  readonly allowPrivate: boolean
  /** NODE_ENV=production: only https URLs. */
  readonly requireHttps: boolean
}

export interface WebhookRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly timeoutMs: number
}

export interface WebhookResponse {
  readonly status: number
  readonly retryAfter: string | undefined
}

/** Outbound webhook HTTP, behind the SSRF policy. */
export class WebhookSender extends Context.Service<WebhookSender, {
  /** The URL's form (scheme, no credentials) and, unless private addresses are allowed, where it resolves now. */
  readonly check: (url: string) => Effect.Effect<void, OutboundError>
  /** One POST to the checked address; redirects are not followed (a 3xx is just a status). */
  readonly post: (request: WebhookRequest) => Effect.Effect<WebhookResponse, OutboundError>
}>()("sesame/WebhookSender") {}

const refused = (reason: string) => new OutboundError({ reason, refused: true })

export const parseUrl = (raw: string, policy: OutboundPolicy): Effect.Effect<URL, OutboundError> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Effect.fail(refused("not an absolute URL"))
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return Effect.fail(refused("the URL must be http(s)"))
  if (policy.requireHttps && url.protocol !== "https:") return Effect.fail(refused("the URL must be https"))
  if (url.username !== "" || url.password !== "") return Effect.fail(refused("the URL must not carry credentials"))
  if (url.hostname === "") return Effect.fail(refused("the URL has no host"))
  return Effect.succeed(url)
}

/**
 * Where to connect: an IP literal as written (the URL parser has already normalised `0x7f.1`,
 * `2130706433`…), or every address the name resolves to. One refused address refuses the whole
 * URL, so a name cannot smuggle a private address in beside a public one.
 */
export const resolveTarget = (url: URL, policy: OutboundPolicy) =>
  Effect.gen(function* () {
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
    const literal = refusal(host) !== "not an IP address"
    const addresses: ReadonlyArray<ResolvedAddress> = literal
      ? [{ address: host, family: host.includes(":") ? 6 : 4 }]
      : yield* Effect.flatMap(Resolver, (resolver) => resolver.lookup(host))
    if (!policy.allowPrivate) {
      for (const { address } of addresses) {
        const reason = refusal(address)
        if (reason !== undefined) return yield* Effect.fail(refused(literal ? reason : `${host} resolves to ${reason}`))
      }
    }
    return addresses[0] ?? (yield* Effect.fail(new OutboundError({ reason: `${host} did not resolve`, refused: false })))
  })

const describe = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return String(error)
  const code = "code" in error && typeof error.code === "string" ? error.code : undefined
  const message = error instanceof Error ? error.message : String(error)
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
}

/**
 * One request whose connection goes to `pinned`, the address that was checked: the `lookup` hook
 * answers with it instead of resolving again, so DNS rebinding between check and connect cannot
 * move the request elsewhere. TLS still verifies the certificate against the URL's host name.
 */
const request = (url: URL, pinned: ResolvedAddress, req: WebhookRequest) =>
  Effect.callback<WebhookResponse, OutboundError>((resume, signal) => {
    const lookup: LookupFunction = (_host, options, callback) => {
      if (options.all === true) callback(null, [pinned])
      else (callback as (e: null, address: string, family: number) => void)(null, pinned.address, pinned.family)
    }
    const body = Buffer.from(req.body, "utf8")
    const client = url.protocol === "https:" ? https : http
    const outgoing = client.request(url, {
      method: "POST",
      lookup,
      agent: false,
      signal,
      headers: { ...req.headers, "content-length": String(body.length) }
    }, (response) => {
      const retryAfter = response.headers["retry-after"]
      // The status is all we need: don't let a slow or endless body hold the worker.
      response.destroy()
      resume(Effect.succeed({ status: response.statusCode ?? 0, retryAfter }))
    })
    outgoing.on("error", (error) => resume(Effect.fail(new OutboundError({ reason: describe(error), refused: false }))))
    outgoing.end(body)
  })

export const make = (policy: OutboundPolicy) =>
  Effect.gen(function* () {
    const resolver = yield* Resolver
    const target = (raw: string) =>
      Effect.flatMap(parseUrl(raw, policy), (url) =>
        Effect.map(resolveTarget(url, policy), (pinned) => ({ url, pinned }))).pipe(Effect.provideService(Resolver, resolver))
    return WebhookSender.of({
      // With the address check lifted there is nothing to resolve for: the form is all that is checked.
      check: (raw) => (policy.allowPrivate ? Effect.asVoid(parseUrl(raw, policy)) : Effect.asVoid(target(raw))),
      post: (req) =>
        // Checked again at every delivery, not only at registration: DNS answers change.
        Effect.flatMap(target(req.url), ({ url, pinned }) => request(url, pinned, req)).pipe(
          Effect.timeoutOrElse({
            duration: req.timeoutMs,
            orElse: () => Effect.fail(new OutboundError({ reason: `timed out after ${req.timeoutMs} ms`, refused: false }))
          })
        )
    })
  })

/** The policy from the process configuration: WEBHOOKS_ALLOW_PRIVATE is ignored in production. */
export const policyFrom = (config: AppConfig["Service"]): OutboundPolicy => ({
  allowPrivate: config.webhooksAllowPrivate === true && !config.production,
  requireHttps: config.production
})

export const layerWith = (policy: OutboundPolicy) => Layer.effect(WebhookSender)(make(policy))

export const layer = Layer.unwrap(Effect.gen(function* () {
  const config = yield* AppConfig
  if (config.webhooksAllowPrivate === true && config.production) {
    yield* Effect.logWarning("WEBHOOKS_ALLOW_PRIVATE is ignored when NODE_ENV=production")
  }
  return layerWith(policyFrom(config))
}))
