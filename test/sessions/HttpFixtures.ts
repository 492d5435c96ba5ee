import { Effect } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { PgClient } from "@effect/sql-pg"
import { Api } from "../../src/api/Api.ts"
import type { Scope } from "../../src/domain/Ids.ts"
import { ApiKeys } from "../../src/keys/ApiKeys.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { codeIn, type SmtpSink } from "../support/Processes.ts"
import { clientFor, tenantFixture } from "../support/Server.ts"

export type Client = HttpApiClient.ForApi<typeof Api>

/** A unique address per call: send limits count per email. */
export const uniqueEmail = (label = "user") => `${label}.${randomId("x").slice(2).toLowerCase()}@example.com`

export const client = { ipAddress: "203.0.113.9", userAgent: "Mozilla/5.0 (Sesame test)" }

/** Send a code with the test key and verify it: a fresh session (and a new user for a new email). */
export const signIn = (api: Client, email = uniqueEmail()) =>
  Effect.gen(function*() {
    const sent = yield* api.passwordless.send({ payload: { email } })
    return yield* api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "", client } })
  })

/**
 * Send a code with a LIVE key and verify it. A live send answers no code: it is read from the email
 * the server delivered to `mail` (the server must be configured with `smtpUrl: mail.url`).
 */
export const liveSignIn = (api: Client, mail: SmtpSink, email = uniqueEmail("live")) =>
  Effect.gen(function*() {
    const sent = yield* api.passwordless.send({ payload: { email } })
    const received = yield* Effect.promise(() => mail.waitFor(email))
    const code = codeIn(received.raw) ?? ""
    return yield* api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code, client } })
  })

/** The end user's client: no API key, its own access token (or none). */
export const endUser = (accessToken?: string) =>
  accessToken === undefined
    ? HttpApiClient.make(Api)
    : HttpApiClient.make(Api, { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(accessToken)) })

/** A tenant with its default keys (all scopes) as derived clients. */
export const tenantClients = Effect.gen(function*() {
  const { tenant, keys } = yield* tenantFixture()
  return { tenant, keys, test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

/** A client for a new test key of `tenantId` holding only `scopes`. */
export const scopedClient = (tenantId: Parameters<ApiKeys["Service"]["create"]>[0]["tenantId"], scopes: ReadonlyArray<Scope>) =>
  Effect.flatMap(ApiKeys, (keys) => keys.create({ tenantId, name: "scoped", mode: "test", scopes })).pipe(
    Effect.flatMap(({ secret }) => clientFor(secret))
  )

export const eventsOf = (tenantId: string, type: string) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    sql<{ mode: string; payload: Record<string, unknown> }>`
      SELECT mode, payload FROM events WHERE tenant_id = ${tenantId} AND type = ${type} ORDER BY created_at, id`).pipe(Effect.orDie)

export const tally = (codes: ReadonlyArray<string>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const code of codes) counts[code] = (counts[code] ?? 0) + 1
  return counts
}
