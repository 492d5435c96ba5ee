import { Schema } from "effect"

const prefixed = (prefix: string) => Schema.String.check(Schema.isPattern(new RegExp(`^${prefix}_[0-9A-Za-z]{16,40}$`)))

export const AuthRequestId = prefixed("ar").pipe(Schema.brand("AuthRequestId"))
export type AuthRequestId = typeof AuthRequestId.Type
export const UserId = prefixed("usr").pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type
export const SessionId = prefixed("ses").pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type
export const ApiKeyId = prefixed("key").pipe(Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type
/**
 * The operator console (#14) calls the API's services as a caller whose key id starts with this: it
 * names no stored key (a stored key's id is "key_" + random), and KeyAdmin bounds it by its scopes alone.
 */
export const CONSOLE_KEY_PREFIX = "key_console"
export const TenantId = prefixed("ten").pipe(Schema.brand("TenantId"))
export type TenantId = typeof TenantId.Type
export const MessageId = prefixed("msg").pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

export const WebhookEndpointId = prefixed("whe").pipe(Schema.brand("WebhookEndpointId"))
export type WebhookEndpointId = typeof WebhookEndpointId.Type
export const WebhookDeliveryId = prefixed("whd").pipe(Schema.brand("WebhookDeliveryId"))
export type WebhookDeliveryId = typeof WebhookDeliveryId.Type
export const EventId = prefixed("evt").pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type

export const Mode = Schema.Literals(["live", "test"])
export type Mode = typeof Mode.Type

export const Scope = Schema.Literals([
  "passwordless:send",
  "passwordless:verify",
  "sessions:read",
  "sessions:write",
  "users:read",
  "users:write",
  "keys:manage",
  "webhooks:manage",
  "tenant:manage"
])
export type Scope = typeof Scope.Type
export const AllScopes: ReadonlyArray<Scope> = Scope.literals

export const Channel = Schema.Literals(["email", "sms"])
export type Channel = typeof Channel.Type
export const AuthType = Schema.Literals(["OTP", "LINK", "LINK_OTP"])
export type AuthType = typeof AuthType.Type
export const Template = Schema.Literals(["SIGNIN", "SIGNUP"])
export type Template = typeof Template.Type
