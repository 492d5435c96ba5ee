/**
 * Calling a Sesame server in another process (the multi-process, restart, shutdown and CLI tests):
 * the derived client over fetch, run to a Promise, and small helpers the process tests share.
 */
import { Effect } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { Api } from "../../src/api/Api.ts"
import { errorCode } from "./Server.ts"

/** The derived client for `baseUrl`, with `bearer` (an API key or an access token) when given. */
export const clientOf = (baseUrl: string, bearer?: string) =>
  HttpApiClient.make(Api, {
    baseUrl,
    transformClient: bearer === undefined ? (c) => c : HttpClient.mapRequest(HttpClientRequest.bearerToken(bearer))
  })

/** Runs a client call over fetch. */
export const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, FetchHttpClient.layer))

/** "OK", or the error's `code`. */
export const outcome = Effect.match({ onSuccess: () => "OK", onFailure: errorCode })

/** How many times each value occurs. */
export const tally = (values: ReadonlyArray<string>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

/** Whether a process with this pid exists (signal 0). */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
