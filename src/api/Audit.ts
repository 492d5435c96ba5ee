import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Mode } from "../domain/Ids.ts"
import { ServiceUnavailable } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

/** The security events the audit log records. */
export const AuditType = Schema.Literals([
  "key.created",
  "key.revoked",
  "tenant.updated",
  "login.success",
  "login.failed",
  "auth_request.locked",
  "identifier.locked",
  "rate_limited",
  "send.suppressed",
  "webhook.disabled",
  // the operator console (#14): what an operator did there, with \`actor\` = "operator:<email>"
  "console.signin",
  "console.signout",
  "console.session_revoked",
  "tenant.created",
  "session.revoked",
  "user.exported",
  "user.erased",
  "webhook.created",
  "webhook.updated",
  "webhook.deleted",
  "webhook.secret_rotated",
  "webhook.delivery_retried",
  "webhook.test_sent"
])
export type AuditType = typeof AuditType.Type

/** Who (`actor`: the API key id), what (`type`, `subject`, `details`), when, from where. Never a secret. */
export const AuditEventView = Schema.Struct({
  id: Schema.String,
  type: AuditType,
  mode: Schema.NullOr(Mode),
  actor: Schema.NullOr(Schema.String),
  ip: Schema.NullOr(Schema.String),
  requestId: Schema.NullOr(Schema.String),
  subject: Schema.NullOr(Schema.String),
  details: Schema.Record(Schema.String, Schema.Json),
  createdAt: Schema.String
})
export type AuditEventView = typeof AuditEventView.Type

export class AuditApi extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/v1/audit", {
      query: {
        limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))),
        /** `nextCursor` of the previous page. */
        cursor: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9]{1,18}$/)))
      },
      success: Schema.Struct({ events: Schema.Array(AuditEventView), nextCursor: Schema.NullOr(Schema.String) }),
      error: ServiceUnavailable
    })
  )
  .annotateEndpoints(RequiredScope, "tenant:manage")
  .middleware(ApiKeyAuth) {}
