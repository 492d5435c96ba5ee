import { Effect, Schema } from "effect"

/**
 * MagicAuth's errors: every failure under `/compat/magicauth` is `{ "success": false, "error": "<human
 * string>" }` (its docs: "Invalid token", "Token already used", "Token expired") with the HTTP status
 * its docs give (400 missing fields or invalid data, 401 invalid app_key, 403 app disabled or redirect
 * URL not whitelisted, 429, 500) — plus the honest status of what its docs do not cover (404, 413, 415,
 * 503). One class per status, so the derived client and `/openapi.json` tell them apart by status.
 */
export const statusOf = {
  MagicAuthBadRequest: 400,
  MagicAuthUnauthorized: 401,
  MagicAuthForbidden: 403,
  MagicAuthNotFound: 404,
  MagicAuthPayloadTooLarge: 413,
  MagicAuthUnsupportedMediaType: 415,
  MagicAuthTooManyRequests: 429,
  MagicAuthInternal: 500,
  MagicAuthUnavailable: 503
} as const

const declared = <const Tag extends keyof typeof statusOf>(tag: Tag, message: string) => [{
  success: Schema.tag(false),
  error: Schema.String.pipe(Schema.withConstructorDefault(Effect.succeed(message)))
}, { httpApiStatus: statusOf[tag] }] as const

export class MagicAuthBadRequest extends Schema.Error<MagicAuthBadRequest>("MagicAuthBadRequest")(
  ...declared("MagicAuthBadRequest", "Missing required fields or invalid data")
) { readonly _tag = "MagicAuthBadRequest" }

export class MagicAuthUnauthorized extends Schema.Error<MagicAuthUnauthorized>("MagicAuthUnauthorized")(
  ...declared("MagicAuthUnauthorized", "Invalid app_key")
) { readonly _tag = "MagicAuthUnauthorized" }

export class MagicAuthForbidden extends Schema.Error<MagicAuthForbidden>("MagicAuthForbidden")(
  ...declared("MagicAuthForbidden", "Forbidden")
) { readonly _tag = "MagicAuthForbidden" }

export class MagicAuthNotFound extends Schema.Error<MagicAuthNotFound>("MagicAuthNotFound")(
  ...declared("MagicAuthNotFound", "Not found")
) { readonly _tag = "MagicAuthNotFound" }

export class MagicAuthPayloadTooLarge extends Schema.Error<MagicAuthPayloadTooLarge>("MagicAuthPayloadTooLarge")(
  ...declared("MagicAuthPayloadTooLarge", "The request body is larger than 64 KiB")
) { readonly _tag = "MagicAuthPayloadTooLarge" }

export class MagicAuthUnsupportedMediaType extends Schema.Error<MagicAuthUnsupportedMediaType>("MagicAuthUnsupportedMediaType")(
  ...declared("MagicAuthUnsupportedMediaType", "The request body must be application/json")
) { readonly _tag = "MagicAuthUnsupportedMediaType" }

export class MagicAuthTooManyRequests extends Schema.Error<MagicAuthTooManyRequests>("MagicAuthTooManyRequests")(
  ...declared("MagicAuthTooManyRequests", "Too many requests")
) { readonly _tag = "MagicAuthTooManyRequests" }

export class MagicAuthInternal extends Schema.Error<MagicAuthInternal>("MagicAuthInternal")(
  ...declared("MagicAuthInternal", "Something went wrong on our end")
) { readonly _tag = "MagicAuthInternal" }

export class MagicAuthUnavailable extends Schema.Error<MagicAuthUnavailable>("MagicAuthUnavailable")(
  ...declared("MagicAuthUnavailable", "The service is temporarily unavailable, try again shortly")
) { readonly _tag = "MagicAuthUnavailable" }

export const MagicAuthErrors = [
  MagicAuthBadRequest, MagicAuthUnauthorized, MagicAuthForbidden, MagicAuthNotFound, MagicAuthPayloadTooLarge,
  MagicAuthUnsupportedMediaType, MagicAuthTooManyRequests, MagicAuthInternal, MagicAuthUnavailable
] as const

export type MagicAuthError = InstanceType<typeof MagicAuthErrors[number]>
