import { Clock, Effect, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { IpNotAllowed } from "../api/Errors.ts"
import { Audit, type RequestInfo } from "../audit/Audit.ts"
import type { ApiKey } from "../keys/ApiKeys.ts"
import { type Cidr, clientAddress, inAny, parseCidr } from "../keys/IpAllowlist.ts"
import { enforce } from "../limits/Enforce.ts"
import { keyChecks } from "../limits/Limits.ts"
import { RateLimiter } from "../limits/RateLimiter.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { TrustedProxies } from "./TrustedProxies.ts"

/**
 * What the API-key middleware checks once the key is known: where the call comes from (IP allowlist)
 * and how often the key calls (its per-minute limit), and who/where for the audit log.
 */
export const makeKeyGuard = Effect.gen(function* () {
  const trusted = yield* TrustedProxies
  const tenants = yield* Tenants
  const limiter = yield* RateLimiter
  const audit = yield* Audit
  const allowlists = new WeakMap<ApiKey, ReadonlyArray<Cidr>>()
  const allowlistOf = (key: ApiKey) => {
    let cidrs = allowlists.get(key)
    if (cidrs === undefined) {
      cidrs = key.ipAllowlist.flatMap((entry) => parseCidr(entry) ?? [])
      allowlists.set(key, cidrs)
    }
    return cidrs
  }

  /** The request's id (X-Request-Id) and caller address; the address is the socket peer unless TRUST_PROXY vouches for it. */
  const describe = (request: HttpServerRequest.HttpServerRequest, key: ApiKey, requestId: string): RequestInfo => {
    // Parsed on first use: most requests never read it (audit rows do), and parsing showed up at ~4 %
    // of server CPU in the send benchmark.
    let ip: string | null | undefined
    return {
      requestId,
      actor: key.id,
      get ip() {
        if (ip === undefined) {
          const address = clientAddress(Option.getOrUndefined(request.peerAddress), request.headers["x-forwarded-for"], trusted)
          ip = address?.toString() ?? null
        }
        return ip
      }
    }
  }

  /** IP_NOT_ALLOWED unless the key has no allowlist or the caller's address is on it. */
  const checkAddress = (request: HttpServerRequest.HttpServerRequest, key: ApiKey) =>
    Effect.suspend(() => {
      if (key.ipAllowlist.length === 0) return Effect.void
      const address = clientAddress(Option.getOrUndefined(request.peerAddress), request.headers["x-forwarded-for"], trusted)
      return inAny(allowlistOf(key), address) ? Effect.void : Effect.fail(new IpNotAllowed({}))
    })

  /** Counts the request against the key's per-minute limit (every `/v1` request with a key). */
  const countRequest = (key: ApiKey) =>
    Effect.gen(function* () {
      const tenant = yield* tenants.get(key.tenantId).pipe(Effect.catchTag("NotFound", Effect.die))
      const decision = yield* limiter.take(key.tenantId, keyChecks(tenant.modes[key.mode].policy, key.id), yield* Clock.currentTimeMillis)
      yield* enforce(audit, key, `key:${key.id}`, decision)
    })

  return { describe, checkAddress, countRequest }
})
