import { type Effect, Redacted } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { Api } from "./api/Api.ts"

/**
 * The typed Sesame client, derived from the same HttpApi definition as the server: every endpoint,
 * payload and typed error matches the running service. Needs an `HttpClient` (e.g. `FetchHttpClient.layer`).
 */
export const makeClient = (options: {
  readonly baseUrl: string | URL
  readonly apiKey: string | Redacted.Redacted<string>
}): Effect.Effect<SesameClient, never, HttpClient.HttpClient> =>
  HttpApiClient.make(Api, {
    baseUrl: options.baseUrl,
    transformClient: HttpClient.mapRequest(
      HttpClientRequest.bearerToken(Redacted.isRedacted(options.apiKey) ? Redacted.value(options.apiKey) : options.apiKey)
    )
  })

export type SesameClient = HttpApiClient.ForApi<typeof Api>

export { Api } from "./api/Api.ts"
export * from "./api/Errors.ts"
