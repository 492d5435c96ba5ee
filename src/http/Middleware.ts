import { Cause, Context, Effect, Layer, SchemaIssue } from "effect"
import { isSqlError } from "effect/sql/SqlError"
import { HttpEffect, HttpMethod, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { ApiKeyInvalid, Internal, ValidationFailed } from "../api/Errors.ts"
import { ApiKeyAuth, RequestGuard, RequiredScope } from "../api/Security.ts"
import { loggableSqlError } from "../platform/SqlErrorLog.ts"
import { type BadInput, badJsonBody, badParams, MAX_JSON_DEPTH } from "./InputCheck.ts"
import { credentialOf, KeyResolver } from "./KeyResolver.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const pathOf = (segments: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  segments.map((s) => String(typeof s === "object" ? s.key : s)).join(".")

/** A decoding issue as the API's VALIDATION_FAILED: the first problem, named by its field's path. */
export const validationFailedOf = (issue: SchemaIssue.Issue) => {
  const first = formatIssues(issue).issues[0]
  const field = first?.path !== undefined && first.path.length > 0 ? pathOf(first.path) : undefined
  const message = first === undefined
    ? "The request is not valid."
    : field === undefined ? first.message : `${field}: ${first.message}`
  return new ValidationFailed(field === undefined ? { message } : { message, field })
}

const validationFailed = (error: HttpApiError.HttpApiSchemaError) => validationFailedOf(error.cause.issue)

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

/**
 * The request guard's work around any route's effect: input checks (NUL, nesting), request decoding
 * failures as VALIDATION_FAILED, Retry-After on every error that carries `retryAfter`, and defects as
 * a bare INTERNAL. `/v1`'s RequestGuard is this; a compatibility adapter's guard is this with the
 * native errors turned into its product's (compat/Kit.ts).
 */
export const guarded = <E, R>(httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
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
      Effect.catch((error): Effect.Effect<never, Exclude<E, HttpApiError.HttpApiSchemaError> | ValidationFailed | Internal> => {
        if (!HttpApiError.HttpApiSchemaError.is(error)) return Effect.fail(error as Exclude<E, HttpApiError.HttpApiSchemaError>)
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

export const RequestGuardLive = Layer.succeed(RequestGuard)(guarded)

export const ApiKeyAuthLive = Layer.effect(ApiKeyAuth)(
  Effect.gen(function* () {
    const resolver = yield* KeyResolver
    const authenticate = <E, R>(httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, endpoint: { readonly annotations: Context.Context<never> }) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        resolver.run(credentialOf(request), Context.get(endpoint.annotations, RequiredScope), httpEffect).pipe(
          // unknown, revoked and expired keys look the same to a /v1 caller
          Effect.catchTag("KeyRefused", () => Effect.fail(new ApiKeyInvalid({})))
        ))
    // Both schemes resolve the same way (Bearer first, then x-api-key), so whichever the framework
    // tries first decides, and a bad Bearer key is never masked by a missing x-api-key.
    return ApiKeyAuth.of({
      bearer: (httpEffect, { endpoint }) => authenticate(httpEffect, endpoint),
      apiKey: (httpEffect, { endpoint }) => authenticate(httpEffect, endpoint)
    })
  })
)
