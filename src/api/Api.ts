import { HttpApi, OpenApi } from "effect/http-api"
import { MagicAuthApi } from "../compat/magicauth/Api.ts"
import { Auth1Api } from "../compat/auth1/Api.ts"
import { ScalekitApi } from "../compat/scalekit/Api.ts"
import { AuditApi } from "./Audit.ts"
import { AuthinkApi } from "../compat/authink/Api.ts"
import { ExchangeApi } from "./Exchange.ts"
import { TemplatesApi } from "./Templates.ts"
import { KeysApi } from "./Keys.ts"
import { TenantApi } from "./Tenant.ts"
import { PasswordlessApi } from "./Passwordless.ts"
import { RequestGuard } from "./Security.ts"
import { OidcApi, SessionsApi, TokenApi } from "./Sessions.ts"
import { TestOutboxApi } from "./TestOutbox.ts"
import { UsersApi } from "./Users.ts"
import { WebhooksApi } from "./Webhooks.ts"
import { WellknownApi } from "./Wellknown.ts"
import { TransmitApi } from "../compat/transmit/Api.ts"

/**
 * Sesame's own API (`/v1`, the well-known documents, OIDC): every error is `{ code, message, status }`.
 * The Promise client (src/promise.ts) derives from it; the compatibility groups below keep their
 * vendors' error shapes and are reached with those vendors' SDKs.
 */
export const SesameApi = HttpApi.make("sesame")
  .add(PasswordlessApi)
  .add(TestOutboxApi)
  .add(WellknownApi)
  .add(SessionsApi)
  .add(TokenApi)
  .add(UsersApi)
  .add(KeysApi)
  .add(TenantApi)
  .add(AuditApi)
  .add(OidcApi)
  .add(WebhooksApi)
  .add(ExchangeApi)
  .add(TemplatesApi)
  .middleware(RequestGuard)

/** The one definition of Sesame's public HTTP contract: server, OpenAPI document and client derive from it. */
export class Api extends SesameApi
  .add(MagicAuthApi)
  .add(AuthinkApi)
  .add(Auth1Api)
  .add(TransmitApi)
  .add(ScalekitApi)
  .annotate(OpenApi.Title, "Sesame")
  .annotate(OpenApi.Version, "1") {}

export * from "./Audit.ts"
export * from "./Errors.ts"
export * from "./Exchange.ts"
export * from "./Keys.ts"
export * from "./Passwordless.ts"
export * from "./Security.ts"
export * from "./Sessions.ts"
export * from "./Shapes.ts"
export * from "./Templates.ts"
export * from "./Tenant.ts"
export * from "./TestOutbox.ts"
export * from "./Users.ts"
export * from "./Webhooks.ts"
export * from "./Wellknown.ts"
