import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { ServiceUnavailable } from "./Errors.ts"

export const Jwk = Schema.Record(Schema.String, Schema.Json)
export const Jwks = Schema.Struct({ keys: Schema.Array(Jwk) })

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Ready = Schema.Struct({ status: Schema.Literal("ready"), database: Schema.Literal("ok") })

export class WellknownApi extends HttpApiGroup.make("wellknown")
  .add(
    /** The live issuer's keys (`iss` = PUBLIC_URL): the only JWKS a production resource server trusts. */
    HttpApiEndpoint.get("jwks", "/.well-known/jwks.json", { success: Jwks, error: ServiceUnavailable }),
    /** The test issuer's keys (`iss` = PUBLIC_URL/test), never in the live JWKS. */
    HttpApiEndpoint.get("testJwks", "/test/.well-known/jwks.json", { success: Jwks, error: ServiceUnavailable }),
    HttpApiEndpoint.get("healthz", "/healthz", { success: Health }),
    HttpApiEndpoint.get("readyz", "/readyz", { success: Ready, error: ServiceUnavailable })
  ) {}
