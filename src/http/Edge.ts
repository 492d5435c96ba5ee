import { ByteSize, Cause, Effect, Schema } from "effect"
import { HttpEffect, HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PayloadTooLarge, UnsupportedMediaType } from "../api/Errors.ts"
import { compatEdges } from "../compat/Products.ts"
import { fromTrustedProxy, TrustedProxies } from "./TrustedProxies.ts"

/** The API's body limit (API.md "Errors": PAYLOAD_TOO_LARGE). */
export const MAX_BODY_BYTES = 64 * 1024
/** The hosted link page's form carries a CSRF token and a timestamp (< 100 bytes). */
export const MAX_FORM_BYTES = 4 * 1024

/**
 * RFC 6797: one year, the usual preload-list floor, and `includeSubDomains` because a host that serves
 * sign-in has no business serving a plaintext subdomain. No `preload`: that commits the whole
 * registrable domain and is the operator's call, made on the apex.
 */
const HSTS = "max-age=31536000; includeSubDomains"

const isJson = (type: string) => /^application\/json\s*(;|$)/i.test(type)
const isForm = (type: string) => /^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)

/** What a route prefix accepts as a body, and how it words a refusal. */
interface BodyPolicy {
  readonly prefix: string
  readonly maxBytes: number
  readonly accepts: (contentType: string, url: string) => boolean
  readonly tooLarge: HttpServerResponse.HttpServerResponse
  readonly unsupported: (url: string) => HttpServerResponse.HttpServerResponse
}

// The declared errors' own wire bodies, encoded through their schemas once.
const refusals = (maxText: string, typeText: string) =>
  Effect.gen(function* () {
    const large = new PayloadTooLarge({ message: `The request body is larger than ${maxText}.` })
    const type = new UnsupportedMediaType({ message: `The request body must be ${typeText}.` })
    const unsupported = HttpServerResponse.jsonUnsafe(yield* Schema.encodeEffect(UnsupportedMediaType)(type), { status: type.status })
    return {
      tooLarge: HttpServerResponse.jsonUnsafe(yield* Schema.encodeEffect(PayloadTooLarge)(large), { status: large.status }),
      unsupported: () => unsupported
    }
  }).pipe(Effect.orDie)

const makePolicies = Effect.gen(function* () {
  const form: BodyPolicy = {
    prefix: "/l/", maxBytes: MAX_FORM_BYTES, accepts: isForm,
    ...yield* refusals("4 KiB", "application/x-www-form-urlencoded")
  }
  // The console's forms (#14): a tenant's settings with its templates fit in 64 KiB.
  const consoleForms: BodyPolicy = {
    prefix: "/console/", maxBytes: MAX_BODY_BYTES, accepts: isForm,
    ...yield* refusals("64 KiB", "application/x-www-form-urlencoded")
  }
  const api: BodyPolicy = { prefix: "/", maxBytes: MAX_BODY_BYTES, accepts: isJson, ...yield* refusals("64 KiB", "application/json") }
  // The compatibility adapters (compat/): the API's limits, refused in each product's words; their
  // OAuth token endpoints also take a form.
  const compat = compatEdges.map((edge): BodyPolicy => {
    const formAt = (url: string) => edge.formPaths.includes(url.split("?", 1)[0] ?? "")
    return {
      prefix: `${edge.prefix}/`, maxBytes: MAX_BODY_BYTES,
      accepts: (type, url) => isJson(type) || (formAt(url) && isForm(type)),
      tooLarge: edge.tooLarge,
      unsupported: (url) => edge.unsupported(formAt(url))
    }
  })
  // First match wins; the API's policy also covers unknown routes, so no path reads an unbounded body.
  return (url: string): BodyPolicy =>
    url.startsWith(form.prefix) ? form : url.startsWith(consoleForms.prefix) ? consoleForms : compat.find((policy) => url.startsWith(policy.prefix)) ?? api
})

const isBodyTooLarge = (u: unknown) =>
  HttpServerError.isHttpServerError(u) && u.reason._tag === "RequestParseError" && u.reason.reason === "BodyTooLarge"

// A body that outgrew MaxBodySize while streaming: a typed failure from a plain route, a defect from
// HttpApi's payload decoder (it reads bodies with orDie).
const tooLargeWhileReading = (cause: Cause.Cause<unknown>) =>
  cause.reasons.some((reason) =>
    reason._tag === "Fail" ? isBodyTooLarge(reason.error) : reason._tag === "Die" && isBodyTooLarge(reason.defect))

const withSecurityHeaders = (https: boolean): HttpEffect.PreResponseHandler => (_request, response) =>
  Effect.succeed(HttpServerResponse.setHeaders(response, {
    "x-content-type-options": "nosniff",
    // Tokens, codes, keys and secrets must not sit in a shared or browser cache (RFC 9111 §5.2.2.5).
    // A handler that chose its own policy (JWKS, discovery: public, max-age) keeps it.
    ...(response.headers["cache-control"] === undefined ? { "cache-control": "no-store" } : {}),
    ...(https ? { "strict-transport-security": HSTS } : {})
  }))
const plainHeaders = withSecurityHeaders(false)
const httpsHeaders = withSecurityHeaders(true)

const tlsSocket = (source: unknown): boolean =>
  typeof source === "object" && source !== null && "socket" in source &&
  typeof source.socket === "object" && source.socket !== null &&
  "encrypted" in source.socket && source.socket.encrypted === true

/**
 * Whether the caller reached us over https: a TLS socket, or a trusted proxy's X-Forwarded-Proto. The
 * rightmost value is the one the trusted peer itself wrote; anything left of it came from further out.
 */
const arrivedOverHttps = (request: HttpServerRequest.HttpServerRequest, trusted: TrustedProxies["Service"]) => {
  if (tlsSocket(request.source)) return true
  const proto = request.headers["x-forwarded-proto"]
  if (proto === undefined || !fromTrustedProxy(request, trusted)) return false
  return proto.slice(proto.lastIndexOf(",") + 1).trim().toLowerCase() === "https"
}

/**
 * The edge of every route (HttpApi, the hosted page, unknown paths, any route added later), before
 * anything reads a body: a Content-Length over the route's limit or a body of a type the route does
 * not take is refused unread (413/415); a streamed body is cut at the same limit while it is read
 * (413); every response gets nosniff, no-store unless it chose a Cache-Control, and HSTS over https.
 */
export const EdgeLive = HttpRouter.middleware(
  Effect.gen(function* () {
    const trusted = yield* TrustedProxies
    const policyFor = yield* makePolicies
    return (httpEffect) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const policy = policyFor(request.url)
        const length = request.headers["content-length"]
        const bytes = length === undefined ? 0 : Number(length)
        const type = request.headers["content-type"]
        const refusal = bytes > policy.maxBytes
          ? policy.tooLarge
          : (bytes > 0 || request.headers["transfer-encoding"] !== undefined) && (type === undefined || !policy.accepts(type, request.url))
          ? policy.unsupported(request.url)
          : undefined
        const answer = refusal !== undefined
          ? Effect.succeed(refusal)
          : httpEffect.pipe(
            Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(policy.maxBytes)),
            Effect.catchCause((cause) => tooLargeWhileReading(cause) ? Effect.succeed(policy.tooLarge) : Effect.failCause(cause))
          )
        return HttpEffect.withPreResponseHandler(answer, arrivedOverHttps(request, trusted) ? httpsHeaders : plainHeaders)
      })
  }),
  { global: true }
)
