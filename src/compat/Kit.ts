import { Context, Effect } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { unhandled } from "effect/Types"
import {
  AlreadyUsed, ApiKeyInvalid, ApiKeyMissing, ChannelDisabled, CodeExpired, CodeInvalid, DeliveryFailed, Internal, InvalidEmail,
  InvalidPhone, IpNotAllowed, NotFound, OriginMismatch, PayloadTooLarge, RateLimited, RedirectNotAllowed, RefreshTokenReused,
  ResendTooSoon, RiskBlocked, ScopeMissing, ServiceUnavailable, TokenExpired, TokenInvalid, TooManyAttempts, UnsupportedMediaType,
  ValidationFailed, VoipNotAllowed
} from "../api/Errors.ts"
import { RequiredScope } from "../api/Security.ts"
import { KeyRefused } from "../keys/ApiKeys.ts"
import { ClientCredentials } from "../keys/ClientCredentials.ts"
import { credentialOf, KeyResolver } from "../http/KeyResolver.ts"
import { guarded } from "../http/Middleware.ts"

/**
 * The compatibility adapters' common parts (one per product under `src/compat/<product>/`). An adapter
 * never decides a rule: it calls the native services and translates their answers and failures into its
 * product's wire format. Everything a product needs to say an error its way is a `Product`:
 * - its error classes (declared on its endpoints and middlewares, so `/openapi.json` stays truthful);
 * - `fromNative`: its code table, from every native failure to one of its errors;
 * - `render`: the wire form of one of its errors, for the answers no handler gives (the edge's 413 and
 *   415, unknown routes under its prefix).
 */

const nativeClasses = [
  ValidationFailed, InvalidEmail, InvalidPhone, RedirectNotAllowed, ApiKeyMissing, ApiKeyInvalid, IpNotAllowed, ScopeMissing,
  ChannelDisabled, VoipNotAllowed, RiskBlocked, NotFound, CodeInvalid, CodeExpired, AlreadyUsed, TooManyAttempts, OriginMismatch,
  ResendTooSoon, RateLimited, TokenInvalid, TokenExpired, RefreshTokenReused, DeliveryFailed, PayloadTooLarge, UnsupportedMediaType,
  ServiceUnavailable, Internal, KeyRefused
] as const

/** Every failure the native core can answer with (KeyRefused: a key refused, with why). */
export type NativeFailure = InstanceType<typeof nativeClasses[number]>

export const isNative = (u: unknown): u is NativeFailure => nativeClasses.some((c) => u instanceof c)

export interface Product<E> {
  /** `/compat/<product>`: every path of the product's group starts with it. */
  readonly prefix: `/compat/${string}`
  readonly fromNative: (failure: NativeFailure) => E
  readonly render: (error: E) => { readonly status: number; readonly body: unknown }
  /** Paths (full, under the prefix) whose body is a form: the OAuth token endpoints. */
  readonly formPaths?: ReadonlyArray<string>
}

/** Retry-After (RFC 9110) from the native failure, before its product's wording renames the field. */
const retryAfterOf = (failure: NativeFailure) =>
  "retryAfter" in failure && typeof failure.retryAfter === "number"
    ? HttpEffect.appendPreResponseHandler((_request, response) =>
      Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(failure.retryAfter))))
    : Effect.void

/**
 * Runs a native call and answers its failures in the product's words: `effect`'s native failures become
 * `E` (with Retry-After from the native one), anything else passes through.
 */
export const translate = <E>(product: Product<E>) =>
<A, E2, R>(effect: Effect.Effect<A, E2, R>): Effect.Effect<A, Exclude<E2, NativeFailure> | E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.catch(effect, (error): Effect.Effect<never, Exclude<E2, NativeFailure> | E, HttpServerRequest.HttpServerRequest> =>
    isNative(error)
      ? Effect.andThen(retryAfterOf(error), Effect.fail(product.fromNative(error)))
      : Effect.fail(error as Exclude<E2, NativeFailure>))

/**
 * The product's request guard: `/v1`'s (input checks, decoding failures, defects) with its answers in
 * the product's words. Declare `class XGuard extends HttpApiMiddleware.Service<XGuard>()(…, { error: [...] })`
 * and provide `Layer.succeed(XGuard)(guardOf(product))`.
 */
export const guardOf = <E>(product: Product<E>) =>
<R>(httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, unhandled, R>) =>
  translate(product)(guarded(httpEffect))

/**
 * The product's key middleware: the same key resolution as `/v1` (KeyResolver: key or client-credentials
 * bearer, IP allowlist, the endpoint's RequiredScope, the key's per-minute limit, X-Request-Id and
 * X-RateLimit-*), failures in the product's words. `credential` picks the key out of the request
 * (default: Bearer, else x-api-key).
 */
export const keyAuthOf = <E>(
  product: Product<E>,
  resolver: KeyResolver["Service"],
  credential: (request: HttpServerRequest.HttpServerRequest) => string | undefined = credentialOf
) =>
<R>(
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, unhandled, R>,
  options: { readonly endpoint: { readonly annotations: Context.Context<never> } }
) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    translate(product)(resolver.run(credential(request), Context.get(options.endpoint.annotations, RequiredScope), httpEffect)))

/**
 * `application/x-www-form-urlencoded` decoding of a Basic password (RFC 6749 §2.3.1) by the WHATWG
 * parser: `+` is a space and a malformed escape stays as it is — never a throw (decodeURIComponent
 * threw on `%zz`, and the token endpoint answered 500).
 */
const formDecoded = (text: string): string => new URLSearchParams(`v=${text.replaceAll("&", "%26")}`).get("v") ?? ""

const basicSecret = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers["authorization"]?.trim() ?? "")
  if (match?.[1] === undefined) return undefined
  const decoded = Buffer.from(match[1], "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon === -1 ? undefined : formDecoded(decoded.slice(colon + 1))
}

/**
 * The token endpoint's work: the Sesame key (as `client_secret` in the form, or HTTP Basic's password,
 * RFC 6749 §2.3.1) traded for a short-lived bearer (ClientCredentials.ts); `client_id` is not checked
 * (the key names its tenant). Native failures: VALIDATION_FAILED (another grant type), API_KEY_MISSING,
 * KeyRefused.
 */
export const clientCredentialsGrant = (form: { readonly grant_type: string; readonly client_secret?: string }) =>
  Effect.gen(function* () {
    if (form.grant_type !== "client_credentials") {
      return yield* new ValidationFailed({ message: "grant_type must be client_credentials", field: "grant_type" })
    }
    const request = yield* HttpServerRequest.HttpServerRequest
    const secret = form.client_secret ?? basicSecret(request)
    if (secret === undefined || secret === "") return yield* new ApiKeyMissing({ message: "client_secret (a Sesame API key) is required." })
    return yield* (yield* ClientCredentials).issue(secret)
  })

/** What the edge and the fallback route need from a product: its prefix, form paths and canned refusals. */
export interface ProductEdge {
  readonly prefix: `/${string}`
  readonly formPaths: ReadonlyArray<string>
  readonly tooLarge: HttpServerResponse.HttpServerResponse
  readonly unsupported: (formAllowed: boolean) => HttpServerResponse.HttpServerResponse
  readonly notFound: HttpServerResponse.HttpServerResponse
}

export const edgeOf = <E>(product: Product<E>): ProductEdge => {
  const respond = (failure: NativeFailure) => {
    const { status, body } = product.render(product.fromNative(failure))
    return HttpServerResponse.jsonUnsafe(body, { status })
  }
  const json = respond(new UnsupportedMediaType({ message: "The request body must be application/json." }))
  const form = respond(new UnsupportedMediaType({ message: "The request body must be application/x-www-form-urlencoded or application/json." }))
  return {
    prefix: product.prefix,
    formPaths: product.formPaths ?? [],
    tooLarge: respond(new PayloadTooLarge({})),
    unsupported: (formAllowed) => formAllowed ? form : json,
    notFound: respond(new NotFound({ message: "No such endpoint." }))
  }
}
