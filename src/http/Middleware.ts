import { Cause, Context, Effect, Layer, SchemaIssue } from "effect"
import type { unhandled } from "effect/Types"
import { isSqlError } from "effect/sql/SqlError"
import { HttpEffect, HttpMethod, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiError } from "effect/http-api"
import {
  ApiKeyMissing,
  Internal,
  ScopeMissing,
  ValidationFailed
} from "../api/Errors.ts"
import { ApiKeyAuth, CurrentKey, RequestGuard, RequiredScope } from "../api/Security.ts"
import { ApiKeys } from "../keys/ApiKeys.ts"
import { RateLimitBox } from "../limits/Limits.ts"
import { RequestContext } from "../audit/Audit.ts"
import { loggableSqlError } from "../platform/SqlErrorLog.ts"
import { type BadInput, badJsonBody, badParams, MAX_JSON_DEPTH } from "./InputCheck.ts"
import { makeKeyGuard } from "./KeyGuard.ts"
import type { LimitState } from "../limits/RateLimiter.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const pathOf = (segments: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  segments.map((s) => String(typeof s === "object" ? s.key : s)).join(".")

const validationFailed = (error: HttpApiError.HttpApiSchemaError) => {
  const first = formatIssues(error.cause.issue).issues[0]
  const field = first?.path !== undefined && first.path.length > 0 ? pathOf(first.path) : undefined
  const message = first === undefined
    ? "The request is not valid."
    : field === undefined ? first.message : `${field}: ${first.message}`
  return new ValidationFailed(field === undefined ? { message } : { message, field })
}

const problems = { nul: "must not contain a NUL character (U+0000)", depth: `is nested deeper than ${MAX_JSON_DEPTH} levels` } as const

const refuseInput = (bad: BadInput) => {
  const problem = problems[bad.problem]
  return bad.field === undefined
    ? new ValidationFailed({ message: `The request ${problem}.` })
    : new ValidationFailed({ message: `${bad.field}: ${problem}`, field: bad.field })
}

/**
 * NUL and nesting, once for every field of the body, query and path (InputCheck.ts). The body text is
 * the request's cached one that the payload decoder parses next, so it is read and parsed only once;
 * a body over the edge's MaxBodySize dies here and the edge answers 413.
 */
const checkInput = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const route = yield* HttpRouter.RouteContext
  const query = yield* HttpServerRequest.ParsedSearchParams
  const inParams = badParams(request.url, route.params, query)
  if (inParams !== undefined) return inParams
  if (!HttpMethod.hasBody(request.method) || request.headers["content-type"] === undefined) return undefined
  return badJsonBody(yield* Effect.orDie(request.text))
})

export const RequestGuardLive = Layer.succeed(RequestGuard)((httpEffect) =>
  Effect.gen(function* () {
    const bad = yield* checkInput
    if (bad !== undefined) return yield* refuseInput(bad)
    return yield* httpEffect.pipe(
      // RFC 6585 / RFC 9110: every 429 and 503 carries Retry-After, in seconds, like its body.
      Effect.tapError((error) =>
        typeof error === "object" && error !== null && "retryAfter" in error && typeof error.retryAfter === "number"
          ? HttpEffect.appendPreResponseHandler((_request, response) =>
            Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(error.retryAfter))))
          : Effect.void),
      Effect.catch((error): Effect.Effect<never, unhandled | ValidationFailed | Internal> => {
        if (!HttpApiError.HttpApiSchemaError.is(error)) return Effect.fail(error)
        return error.kind === "Body" || error.kind === "ResponseHeaders"
          ? Effect.logError("response encoding failed", error).pipe(Effect.andThen(Effect.fail(new Internal({}))))
          : Effect.fail(validationFailed(error))
      }),
      // A defect is a bug: log it with its cause (a SqlError without the values PostgreSQL quotes),
      // answer a bare INTERNAL (no stack, no SQL).
      Effect.catchDefect((defect) =>
        Effect.logError("defect", isSqlError(defect) ? loggableSqlError(defect) : Cause.die(defect)).pipe(
          Effect.andThen(Effect.fail(new Internal({})))))
    )
  })
)

const credentialOf = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  const auth = request.headers["authorization"]
  if (auth !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim())
    if (match?.[1] !== undefined) return match[1]
  }
  const header = request.headers["x-api-key"]
  return header === undefined || header === "" ? undefined : header.trim()
}

export const ApiKeyAuthLive = Layer.effect(ApiKeyAuth)(
  Effect.gen(function* () {
    const keys = yield* ApiKeys
    const guard = yield* makeKeyGuard
    const authenticate = <E, R>(httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, endpoint: { readonly annotations: Context.Context<never> }) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const secret = credentialOf(request)
        if (secret === undefined) return yield* new ApiKeyMissing({})
        const key = yield* keys.authenticate(secret)
        // The allowlist before the scope: a caller from elsewhere learns nothing about the key.
        yield* guard.checkAddress(request, key)
        const scope = Context.get(endpoint.annotations, RequiredScope)
        if (scope !== undefined && !key.scopes.includes(scope)) return yield* new ScopeMissing({ scope })
        const info = guard.describe(request, key)
        const box: { current: LimitState | undefined } = { current: undefined }
        yield* HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeaders(response, box.current === undefined ? { "x-request-id": info.requestId ?? "" } : {
            "x-request-id": info.requestId ?? "",
            "x-ratelimit-limit": String(box.current.limit),
            "x-ratelimit-remaining": String(box.current.remaining),
            "x-ratelimit-reset": String(Math.ceil(box.current.resetAtMs / 1000))
          })))
        // one merge of the fiber's context, not three (each provide copies all ~50 services)
        return yield* Effect.andThen(guard.countRequest(key), httpEffect).pipe(
          Effect.provideContext(Context.make(CurrentKey, { keyId: key.id, tenantId: key.tenantId, mode: key.mode, scopes: key.scopes }).pipe(
            Context.add(RateLimitBox, box),
            Context.add(RequestContext, info)
          ))
        )
      })
    // Both schemes resolve the same way (Bearer first, then x-api-key), so whichever the framework
    // tries first decides, and a bad Bearer key is never masked by a missing x-api-key.
    return ApiKeyAuth.of({
      bearer: (httpEffect, { endpoint }) => authenticate(httpEffect, endpoint),
      apiKey: (httpEffect, { endpoint }) => authenticate(httpEffect, endpoint)
    })
  })
)
