import { Context, Schema } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import type { ApiKeyId, Mode, Scope, TenantId } from "../domain/Ids.ts"
import {
  ApiKeyInvalid,
  ApiKeyMissing,
  Internal,
  IpNotAllowed,
  PayloadTooLarge,
  RateLimited,
  ScopeMissing,
  ServiceUnavailable,
  UnsupportedMediaType,
  ValidationFailed
} from "./Errors.ts"

/** The authenticated API key of the current request: who is calling, in which mode, with which scopes. */
export class CurrentKey extends Context.Service<CurrentKey, {
  readonly keyId: ApiKeyId
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly scopes: ReadonlyArray<Scope>
}>()("sesame/CurrentKey") {}

/** The scope an endpoint requires; read by the ApiKeyAuth middleware from the endpoint's annotations. */
export const RequiredScope = Context.Reference<Scope | undefined>("sesame/RequiredScope", {
  defaultValue: () => undefined
})

export class ApiKeyAuth extends HttpApiMiddleware.Service<ApiKeyAuth, { provides: CurrentKey }>()("sesame/ApiKeyAuth", {
  // RATE_LIMITED: the key's own per-minute limit (API.md "Rate limits"), counted on every request
  error: [ApiKeyMissing, ApiKeyInvalid, ScopeMissing, IpNotAllowed, RateLimited, ServiceUnavailable],
  security: {
    bearer: HttpApiSecurity.bearer,
    apiKey: HttpApiSecurity.apiKey({ key: "x-api-key", in: "header" })
  }
}) {}

/**
 * Turns request decoding failures into `VALIDATION_FAILED`, refuses non-JSON (415) and oversized
 * (413) bodies, and turns defects into a bare `INTERNAL` so no stack trace or SQL reaches a caller.
 */
export class RequestGuard extends HttpApiMiddleware.Service<RequestGuard>()("sesame/RequestGuard", {
  error: [ValidationFailed, PayloadTooLarge, UnsupportedMediaType, Internal]
}) {}

export const NoContent = Schema.Void
