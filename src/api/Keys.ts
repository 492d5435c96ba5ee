import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { ApiKeyId, Mode, Scope } from "../domain/Ids.ts"
import { NotFound, ScopeMissing, ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

/** An API key as the API shows it: never its secret or hash. `expiresAt` in Unix seconds (API.md). */
export const ApiKeyView = Schema.Struct({
  id: ApiKeyId,
  name: Schema.String,
  prefix: Schema.String,
  mode: Mode,
  scopes: Schema.Array(Scope),
  ipAllowlist: Schema.Array(Schema.String),
  expiresAt: Schema.NullOr(Schema.Int),
  createdAt: Schema.String,
  lastUsedAt: Schema.NullOr(Schema.String),
  revokedAt: Schema.NullOr(Schema.String)
})
export type ApiKeyView = typeof ApiKeyView.Type

export const CreateKeyRequest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100), Schema.isPattern(/^[^\u0000-\u001f\u007f]*$/)),
  scopes: Schema.Array(Scope).check(Schema.isMinLength(1), Schema.isMaxLength(20)),
  mode: Mode,
  /** Unix seconds, in the future. */
  expiresAt: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  /** IPv4/IPv6 CIDRs (or bare addresses) the key may be used from; empty or absent: anywhere. */
  ipAllowlist: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMaxLength(64))).check(Schema.isMaxLength(100)))
})
export type CreateKeyRequest = typeof CreateKeyRequest.Type

export const CreatedKey = Schema.Struct({ key: ApiKeyView, secret: Schema.String })

export class KeysApi extends HttpApiGroup.make("keys")
  .add(
    HttpApiEndpoint.get("list", "/v1/keys", {
      success: Schema.Struct({ keys: Schema.Array(ApiKeyView) }),
      error: ServiceUnavailable
    }),
    HttpApiEndpoint.post("create", "/v1/keys", {
      payload: CreateKeyRequest,
      success: CreatedKey.pipe(Schema.annotate({ httpApiStatus: 201 })),
      // SCOPE_MISSING: a key cannot mint a key of the other mode, or one stronger than itself (a scope
      // it lacks, a looser IP allowlist, a later or no expiry)
      error: [ValidationFailed, ScopeMissing, ServiceUnavailable]
    }),
    HttpApiEndpoint.delete("revoke", "/v1/keys/:keyId", {
      params: { keyId: ApiKeyId },
      success: HttpApiSchema.NoContent,
      // SCOPE_MISSING: a key cannot revoke a key stronger than itself
      error: [NotFound, ScopeMissing, ServiceUnavailable]
    })
  )
  .annotateEndpoints(RequiredScope, "keys:manage")
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  .middleware(ApiKeyAuth) {}
