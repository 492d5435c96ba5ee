import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { AuthRequestId, AuthType, Channel, UserId } from "../domain/Ids.ts"
import { InvalidEmail, InvalidPhone, NotFound, ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"
import { SessionInfo } from "./Sessions.ts"
import { User } from "./Shapes.ts"

export const ExportedAuthRequest = Schema.Struct({
  id: AuthRequestId,
  channel: Channel,
  type: AuthType,
  identifier: Schema.String,
  createdAt: Schema.String,
  expiresAt: Schema.String,
  verifiedAt: Schema.NullOr(Schema.String),
  ipAddress: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String),
  state: Schema.NullOr(Schema.String),
  metadata: Schema.NullOr(Schema.Json)
})

export const ExportedMessage = Schema.Struct({
  id: Schema.String,
  channel: Channel,
  to: Schema.String,
  status: Schema.String,
  createdAt: Schema.String,
  sentAt: Schema.NullOr(Schema.String)
})

export const ExportedEvent = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  createdAt: Schema.String,
  payload: Schema.Json
})

/** Everything Sesame holds about one user (GDPR Art. 15/20), as JSON. */
export const UserExport = Schema.Struct({
  exportedAt: Schema.String,
  user: User,
  sessions: Schema.Array(SessionInfo),
  authRequests: Schema.Array(ExportedAuthRequest),
  messages: Schema.Array(ExportedMessage),
  events: Schema.Array(ExportedEvent)
})
export type UserExport = typeof UserExport.Type

export const FindUsersQuery = {
  email: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(320))),
  phone: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(32)))
}

const UserPath = { userId: UserId }

export class UsersApi extends HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.get("find", "/v1/users", {
      query: FindUsersQuery,
      success: Schema.Struct({ users: Schema.Array(User) }),
      error: [ValidationFailed, InvalidEmail, InvalidPhone, ServiceUnavailable]
    }).annotate(RequiredScope, "users:read"),
    HttpApiEndpoint.get("get", "/v1/users/:userId", {
      params: UserPath,
      success: User,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "users:read"),
    HttpApiEndpoint.get("export", "/v1/users/:userId/export", {
      params: UserPath,
      success: UserExport,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "users:read"),
    HttpApiEndpoint.delete("delete", "/v1/users/:userId", {
      params: UserPath,
      success: HttpApiSchema.NoContent,
      error: [NotFound, ServiceUnavailable]
    }).annotate(RequiredScope, "users:write")
  )
  .middleware(ApiKeyAuth) {}
