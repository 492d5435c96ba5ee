import { Context, Effect, Layer, Option } from "effect"
import type { HttpServerRequest } from "effect/http"
import { type Cidr, inAny, parseAddress, parseCidr } from "../keys/IpAllowlist.ts"
import { AppConfig } from "../platform/Config.ts"

export class InvalidTrustProxy extends Error {
  override readonly name = "InvalidTrustProxy"
}

/**
 * TRUST_PROXY, parsed once: the networks of the reverse proxies in front of Sesame. Only a peer inside
 * them may speak for the client (X-Forwarded-For for the caller's address, X-Forwarded-Proto for https).
 */
export class TrustedProxies extends Context.Service<TrustedProxies, ReadonlyArray<Cidr>>()("sesame/TrustedProxies") {}

export const layer = Layer.effect(TrustedProxies)(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const trusted: Array<Cidr> = []
    for (const entry of config.trustProxy ?? []) {
      const cidr = parseCidr(entry)
      if (cidr === undefined) return yield* Effect.die(new InvalidTrustProxy(`TRUST_PROXY: not an IP address or CIDR: ${entry}`))
      trusted.push(cidr)
    }
    return trusted
  })
)

/** Whether the socket peer is one of the trusted proxies. */
export const fromTrustedProxy = (request: HttpServerRequest.HttpServerRequest, trusted: ReadonlyArray<Cidr>): boolean => {
  if (trusted.length === 0) return false
  const peer = Option.getOrUndefined(request.peerAddress)
  return peer !== undefined && inAny(trusted, parseAddress(peer))
}
