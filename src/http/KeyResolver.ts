import { Context, Effect, Layer, References, Tracer } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { ApiKeyMissing, type IpNotAllowed, type RateLimited, ScopeMissing, type ServiceUnavailable } from "../api/Errors.ts"
import { CurrentKey } from "../api/Security.ts"
import { RequestContext } from "../audit/Audit.ts"
import type { Scope } from "../domain/Ids.ts"
import { ApiKeys, type KeyRefused } from "../keys/ApiKeys.ts"
import { ClientCredentials } from "../keys/ClientCredentials.ts"
import { RateLimitBox } from "../limits/Limits.ts"
import type { LimitState } from "../limits/RateLimiter.ts"
import { randomId } from "../platform/Crypto.ts"
import { requestEntry } from "../platform/Logging.ts"
import { makeKeyGuard } from "./KeyGuard.ts"

/** Why a request's key did not get it in. */
export type KeyFailure = ApiKeyMissing | KeyRefused | ScopeMissing | IpNotAllowed | RateLimited | ServiceUnavailable

/** What running as a key provides (RateLimitBox and RequestContext are references with defaults, never required). */
export type AsKey = CurrentKey

/**
 * Key resolution as a service, so a handler (MagicAuth's `app_key` in the body) runs the same checks
 * as the middlewares (`/v1`'s ApiKeyAuth and the compatibility adapters'): the key (a Sesame key, or
 * a client-credentials bearer from a compatibility token endpoint), then the IP allowlist (before the
 * scope: a caller from elsewhere learns nothing about the key), the scope, and the key's per-minute
 * limit. The response gets `X-RateLimit-*` (and `X-Request-Id`, from RequestLog.ts, which every
 * response gets); the request's id and tenant go to its request line.
 */
export class KeyResolver extends Context.Service<KeyResolver, {
  readonly run: <A, E, R>(
    credential: string | undefined,
    scope: Scope | undefined,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | KeyFailure, Exclude<R, AsKey> | HttpServerRequest.HttpServerRequest>
}>()("sesame/KeyResolver") {}

/** The credential of `Authorization: Bearer …`, else of `x-api-key`. */
export const credentialOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const auth = request.headers["authorization"]
  if (auth !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim())
    if (match?.[1] !== undefined) return match[1]
  }
  const header = request.headers["x-api-key"]
  return header === undefined || header === "" ? undefined : header.trim()
}

export const make = Effect.gen(function* () {
  const keys = yield* ApiKeys
  const clients = yield* ClientCredentials
  const guard = yield* makeKeyGuard
  // Tracing (OTEL_EXPORTER_OTLP_ENDPOINT): the request's span names the tenant once the key is known.
  const tracing = (yield* References.TracerEnabled) && (yield* Effect.tracer) !== Tracer.nativeTracer
  const run = <A, E, R>(credential: string | undefined, scope: Scope | undefined, effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (credential === undefined || credential === "") return yield* new ApiKeyMissing({})
      const key = yield* (clients.isClientToken(credential) ? clients.resolve(credential) : keys.authenticate(credential))
      const entry = requestEntry(request)
      if (entry !== undefined) entry.tenant = key.tenantId
      if (tracing) yield* Effect.annotateCurrentSpan({ "sesame.tenant_id": key.tenantId, "sesame.key_mode": key.mode })
      yield* guard.checkAddress(request, key)
      if (scope !== undefined && !key.scopes.includes(scope)) return yield* new ScopeMissing({ scope })
      const info = guard.describe(request, key, entry?.requestId ?? randomId("req"))
      const box: { current: LimitState | undefined } = { current: undefined }
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(box.current === undefined ? response : HttpServerResponse.setHeaders(response, {
          "x-ratelimit-limit": String(box.current.limit),
          "x-ratelimit-remaining": String(box.current.remaining),
          "x-ratelimit-reset": String(Math.ceil(box.current.resetAtMs / 1000))
        })))
      // one merge of the fiber's context, not three (each provide copies all ~50 services)
      return yield* Effect.andThen(guard.countRequest(key), effect).pipe(
        Effect.provideContext(Context.make(CurrentKey, { keyId: key.id, tenantId: key.tenantId, mode: key.mode, scopes: key.scopes }).pipe(
          Context.add(RateLimitBox, box),
          Context.add(RequestContext, info)
        ))
      )
    })
  return KeyResolver.of({ run })
})

export const layer = Layer.effect(KeyResolver)(make)
