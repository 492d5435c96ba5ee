import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { AuthRequestId } from "../domain/Ids.ts"
import { AlreadyUsed, CodeExpired, NotFound, OriginMismatch, ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { VerifyResponse } from "./Passwordless.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

/** The code the hosted link page put on `redirectUrl?code=…&state=…` (API.md "Hosted link page"). */
export const ExchangeRequest = Schema.Struct({
  code: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{20,128}$/)),
  /** Required when send carried a codeChallenge (PKCE): the link then only completes where it was asked for. */
  codeVerifier: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._~-]{43,128}$/))),
  /** Required when the tenant enforces same-origin links: the id the app kept from send. */
  authRequestId: Schema.optionalKey(AuthRequestId)
})
export type ExchangeRequest = typeof ExchangeRequest.Type

export class ExchangeApi extends HttpApiGroup.make("exchange")
  .add(
    HttpApiEndpoint.post("exchange", "/v1/passwordless/exchange", {
      payload: ExchangeRequest,
      success: VerifyResponse,
      error: [ValidationFailed, NotFound, CodeExpired, AlreadyUsed, OriginMismatch, ServiceUnavailable]
    }).annotate(RequiredScope, "passwordless:verify")
  )
  .middleware(ApiKeyAuth) {}
