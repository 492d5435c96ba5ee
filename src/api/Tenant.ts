import { Schema, SchemaAST } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Mode, TenantId } from "../domain/Ids.ts"
import { TenantSettings } from "../domain/TenantSettings.ts"
import { ScopeMissing, ServiceUnavailable, ValidationFailed } from "./Errors.ts"
import { ApiKeyAuth, RequiredScope } from "./Security.ts"

export const TenantView = Schema.Struct({
  id: TenantId,
  /** Shared by both modes; only a live key may change it. */
  name: Schema.String,
  /** Whose settings these are: the calling key's mode. Live and test keep separate settings. */
  mode: Mode,
  /** The stored settings document of `mode`; an absent field has its default (README "Tenant settings"). */
  settings: TenantSettings,
  createdAt: Schema.String
})
export type TenantView = typeof TenantView.Type

type PatchFields<F> = {
  readonly [K in keyof F]: F[K] extends Schema.optionalKey<infer S>
    ? S extends Schema.Struct<infer G> ? Schema.optionalKey<Schema.NullOr<Schema.Struct<PatchFields<G>>>>
    : Schema.optionalKey<Schema.NullOr<S>>
    : never
}

/** Every settings field made nullable, recursively: the shape of a JSON merge patch (RFC 7396) of the document. */
const patchOf = <F extends Schema.Struct.Fields>(fields: F): PatchFields<F> =>
  Object.fromEntries(Object.entries(fields).map(([name, field]) => {
    const inner = (field as unknown as Schema.optionalKey<Schema.Top>).schema
    const value = SchemaAST.isObjects(inner.ast) && "fields" in inner
      ? Schema.Struct(patchOf((inner as unknown as Schema.Struct<Schema.Struct.Fields>).fields))
      : inner
    return [name, Schema.optionalKey(Schema.NullOr(value))]
  })) as unknown as PatchFields<F>

/**
 * A JSON merge patch (RFC 7396) of the settings document: a field sets it, `null` resets it to its
 * default, nested objects (`channels`, `limits`) merge field by field, arrays are replaced whole.
 * Unknown fields are rejected (SECURITY.md "Input").
 */
export const TenantSettingsPatch = Schema.Struct(patchOf(TenantSettings.fields))
export type TenantSettingsPatch = typeof TenantSettingsPatch.Type

/** `settings` patches the calling key's mode's settings only; `name` (shared) needs a live key. */
export const UpdateTenantRequest = Schema.Struct({
  name: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100), Schema.isPattern(/^[^\u0000-\u001f\u007f]*$/))),
  settings: Schema.optionalKey(TenantSettingsPatch)
})
export type UpdateTenantRequest = typeof UpdateTenantRequest.Type

export class TenantApi extends HttpApiGroup.make("tenant")
  .add(
    HttpApiEndpoint.get("get", "/v1/tenant", { success: TenantView, error: ServiceUnavailable }),
    HttpApiEndpoint.patch("update", "/v1/tenant", {
      payload: UpdateTenantRequest,
      success: TenantView,
      // SCOPE_MISSING: a test key changing the shared `name` (a live key's job)
      error: [ValidationFailed, ScopeMissing, ServiceUnavailable]
    })
  )
  .annotateEndpoints(RequiredScope, "tenant:manage")
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" })
  .middleware(ApiKeyAuth) {}
