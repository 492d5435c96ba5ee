import { Cause, Context, Effect, Exit, Option } from "effect"
import { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { HttpApiClient, type HttpApi, type HttpApiEndpoint, type HttpApiGroup } from "effect/http-api"
import type { Simplify } from "effect/Types"
import { SesameApi } from "./api/Api.ts"

/**
 * The Promise client: the typed Effect client of `SesameApi` (HttpApiClient over fetch), each method
 * run to a Promise. Groups, methods, requests and responses are mapped from the contract's types, and
 * the object from the Effect client itself, so no endpoint is listed here by hand.
 */

type Groups = typeof SesameApi extends HttpApi.HttpApi<infer _Id, infer G> ? G : never
type Endpoint = Extract<HttpApiGroup.Endpoints<Groups>, HttpApiEndpoint.ConstraintRequest>
/** Every error the contract declares, on any endpoint or its middleware (the decoded classes of src/api/Errors.ts). */
type ContractError = HttpApiEndpoint.Errors<Endpoint>
/** An error's wire fields: its own schema fields, without what `Error` and Effect add to the instance. */
type WireFields<T> = T extends unknown
  ? Simplify<{ readonly [K in keyof T as K extends "_tag" | "name" | "stack" | "cause" | `~${string}` ? never : K extends string ? K : never]: T[K] }>
  : never

/** Every error code the contract declares (API.md "Errors"). */
export type ContractErrorCode = ContractError["code"]
/** The JSON body of an error the contract declares: `{ code, message, status, …extras }`, discriminated by `code`. */
export type ContractErrorBody = WireFields<ContractError>

/**
 * The codes a `SesameError` carries: the contract's, plus two for failures no server answered with:
 * `NETWORK_ERROR` (no response: connection refused, DNS, aborted; `status` 0) and `UNEXPECTED_RESPONSE`
 * (a status or body the contract does not declare for the endpoint, e.g. a proxy's 502 page).
 * A request that fails the contract's own checks before it is sent is `VALIDATION_FAILED` with `status` 0.
 */
export type SesameErrorCode = ContractErrorCode | "NETWORK_ERROR" | "UNEXPECTED_RESPONSE"

/** Every failure of a Promise client call. */
export class SesameError extends Error {
  override readonly name = "SesameError"
  readonly code: SesameErrorCode
  /** The HTTP status; 0 when no response was received. */
  readonly status: number
  /** The parsed error body for a declared error (narrow it with `body.code`); for other failures, what the response held, if anything. */
  readonly body: ContractErrorBody | undefined
  constructor(args: {
    readonly code: SesameErrorCode
    readonly status: number
    readonly message: string
    readonly body?: ContractErrorBody | undefined
    readonly cause?: unknown
  }) {
    super(args.message, { cause: args.cause })
    this.code = args.code
    this.status = args.status
    this.body = args.body
  }
}

type Input<E extends HttpApiEndpoint.ConstraintRequest> =
  & ([E["~Params"]["Type"]] extends [never] ? {} : { readonly params: E["~Params"]["Type"] })
  & ([E["~Query"]["Type"]] extends [never] ? {} : { readonly query: E["~Query"]["Type"] })
  & ([E["~Headers"]["Type"]] extends [never] ? {} : { readonly headers: E["~Headers"]["Type"] })
  & ([E["~Payload"]["Type"]] extends [never] ? {} : { readonly payload: E["~Payload"]["Type"] })

/** One endpoint as an async function: the same request object as the Effect client (`{ params?, query?, payload? }`). */
export type PromiseMethod<E extends HttpApiEndpoint.ConstraintRequest> = keyof Input<E> extends never
  ? () => Promise<HttpApiClient.SuccessType<E["~Success"]>>
  : (request: Simplify<Input<E>>) => Promise<HttpApiClient.SuccessType<E["~Success"]>>

type GroupMethods<G extends HttpApiGroup.Constraint> = {
  readonly [E in Extract<HttpApiGroup.Endpoints<G>, HttpApiEndpoint.ConstraintRequest> as E["identifier"]]: PromiseMethod<E>
}

/** The Promise client: one object per group of the contract, one async method per endpoint. */
export type SesamePromiseClient = Simplify<
  & { readonly [G in Extract<Groups, { readonly topLevel: false }> as HttpApiGroup.Identifier<G>]: GroupMethods<G> }
  & GroupMethods<Extract<Groups, { readonly topLevel: true }>>
>

export interface SesameOptions {
  /** Where Sesame answers, e.g. `https://auth.example.com`. */
  readonly baseUrl: string | URL
  /** An API key (`sk_live_…`/`sk_test_…`); for `token.userinfo`/`token.logout`, the user's access token. */
  readonly apiKey: string
  /** The fetch to use (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch
}

interface ResponseSlot {
  current: HttpClientResponse.HttpClientResponse | undefined
}
/** The response of the current call, so that a body that does not decode still reports its status. */
const LastResponse = Context.Reference<ResponseSlot | undefined>("sesame/promise/LastResponse", { defaultValue: () => undefined })

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

const unexpected = (response: HttpClientResponse.HttpClientResponse, cause: unknown) =>
  new SesameError({
    code: "UNEXPECTED_RESPONSE",
    status: response.status,
    message: `Sesame answered ${response.status}, which the contract does not declare here.`,
    cause
  })

/** A declared error decoded by the Effect client: its own fields (and its message) are the wire body. */
const declaredBody = (error: unknown): ContractErrorBody | undefined => {
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string" || !("status" in error) || typeof error.status !== "number") {
    return undefined
  }
  const fields: Record<string, unknown> = { message: error.message }
  for (const [key, value] of Object.entries(error)) if (key !== "_tag") fields[key] = value
  return contractBody(fields)
}

// The Effect client decoded this object with the endpoint's error schemas, whose encoded form it is.
const contractBody = (fields: Readonly<Record<string, unknown>>): ContractErrorBody => fields as ContractErrorBody

const toSesameError = (error: unknown, response: HttpClientResponse.HttpClientResponse | undefined): SesameError => {
  const body = declaredBody(error)
  if (body !== undefined) return new SesameError({ code: body.code, status: body.status, message: body.message, body, cause: error })
  if (HttpClientError.isHttpClientError(error)) {
    const reason = error.reason
    if ("response" in reason) return unexpected(reason.response, error)
    return new SesameError({ code: "NETWORK_ERROR", status: 0, message: `Sesame could not be reached: ${reason.message}`, cause: error })
  }
  // A SchemaError: the response did not decode, or (no response yet) the request failed the contract's checks.
  if (response !== undefined) return unexpected(response, error)
  return new SesameError({ code: "VALIDATION_FAILED", status: 0, message: error instanceof Error ? error.message : "The request is not valid.", cause: error })
}

/** Runs one Effect-client call to a Promise that rejects with a `SesameError`. */
const run = <A>(call: Effect.Effect<A, unknown>, fetch: typeof globalThis.fetch | undefined): Promise<A> => {
  const slot: ResponseSlot = { current: undefined }
  const withFetch = fetch === undefined ? call : Effect.provideService(call, FetchHttpClient.Fetch, fetch)
  return Effect.runPromiseExit(Effect.provideService(withFetch, LastResponse, slot)).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const error = Cause.findErrorOption(exit.cause)
    throw Option.isSome(error) ? toSesameError(error.value, slot.current) : Cause.squash(exit.cause)
  })
}

/**
 * The Promise client for teams that do not use Effect:
 * `const sesame = createSesame({ baseUrl, apiKey }); await sesame.passwordless.send({ payload: { email } })`.
 * Every method rejects with a `SesameError`.
 */
export const createSesame = (options: SesameOptions): SesamePromiseClient => {
  const client = Effect.runSync(
    HttpApiClient.make(SesameApi, {
      baseUrl: options.baseUrl,
      transformClient: (http) =>
        http.pipe(
          HttpClient.mapRequest(HttpClientRequest.bearerToken(options.apiKey)),
          HttpClient.tap((response) =>
            Effect.map(LastResponse, (slot) => {
              if (slot !== undefined) slot.current = response
            })
          )
        )
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
  return promisify(client, options.fetch)
}

/** Mirrors the Effect client's shape: every method becomes `(request) => Promise`, every group an object of those. */
const promisify = (client: object, fetch: typeof globalThis.fetch | undefined): SesamePromiseClient => {
  const wrap = (value: unknown): unknown => {
    if (typeof value === "function") {
      return (request?: unknown) => {
        const call: unknown = value(request)
        return Effect.isEffect(call) ? run(ready(call), fetch) : Promise.reject(new TypeError("not an Effect client method"))
      }
    }
    return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, wrap(inner)])) : value
  }
  return fromEffectClient(wrap(client))
}

// A made client's methods need no services (nothing in the contract asks for one on the client side).
const ready = (call: Effect.Effect<unknown, unknown, unknown>): Effect.Effect<unknown, unknown> => call as Effect.Effect<unknown, unknown>

// `wrap` keeps every key of the Effect client (`HttpApiClient.ForApi<typeof SesameApi>`) and turns each
// method into the Promise of its success, which is what `SesamePromiseClient` maps from the same types.
const fromEffectClient = (built: unknown): SesamePromiseClient => built as SesamePromiseClient
