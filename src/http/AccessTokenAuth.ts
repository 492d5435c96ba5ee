import { Effect, Layer, Redacted } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { TokenInvalid } from "../api/Errors.ts"
import { AccessTokenAuth, CurrentSession } from "../api/Sessions.ts"
import { requestEntry } from "../platform/Logging.ts"
import { SessionTokens } from "../sessions/SessionTokens.ts"

/** RFC 6750 §3: a 401 for a bearer-protected resource names the scheme and the error. */
const challenge = HttpEffect.appendPreResponseHandler((_request, response) =>
  Effect.succeed(
    response.status === 401
      ? HttpServerResponse.setHeader(response, "www-authenticate", "Bearer error=\"invalid_token\"")
      : response
  ))

export const AccessTokenAuthLive = Layer.effect(AccessTokenAuth)(
  Effect.gen(function*() {
    const tokens = yield* SessionTokens
    return AccessTokenAuth.of({
      accessToken: (httpEffect, { credential }) =>
        Effect.gen(function*() {
          yield* challenge
          const token = Redacted.value(credential)
          if (token === "") return yield* new TokenInvalid({ message: "An access token is required: Authorization: Bearer <accessToken>." })
          const current = yield* tokens.authenticate(token)
          const entry = requestEntry(yield* HttpServerRequest.HttpServerRequest)
          if (entry !== undefined) entry.tenant = current.tenantId
          return yield* Effect.provideService(httpEffect, CurrentSession, current)
        })
    })
  })
)
