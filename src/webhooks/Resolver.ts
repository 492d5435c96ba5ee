import { lookup } from "node:dns/promises"
import { Context, Data, Effect, Layer } from "effect"

/** Why an outbound webhook request did not get an HTTP response. `refused`: our SSRF policy said no. */
export class OutboundError extends Data.TaggedError("OutboundError")<{
  readonly reason: string
  readonly refused: boolean
}> {}

export interface ResolvedAddress {
  readonly address: string
  readonly family: 4 | 6
}

/** Name resolution for webhook URLs: every A/AAAA record (and hosts-file entry) of a name. */
export class Resolver extends Context.Service<Resolver, {
  readonly lookup: (host: string) => Effect.Effect<ReadonlyArray<ResolvedAddress>, OutboundError>
}>()("sesame/Resolver") {
  /** A fixed table of names (tests): a name not in it does not resolve. */
  static readonly layerTest = (hosts: Readonly<Record<string, ReadonlyArray<string>>>) =>
    Layer.succeed(Resolver)({
      lookup: (host) => {
        const addresses = hosts[host.toLowerCase()]
        return addresses === undefined || addresses.length === 0
          ? Effect.fail(new OutboundError({ reason: `getaddrinfo ENOTFOUND ${host}`, refused: false }))
          : Effect.succeed(addresses.map((address) => ({ address, family: address.includes(":") ? 6 as const : 4 as const })))
      }
    })
}

/** node:dns `lookup` with `all: true`: the resolver the operating system uses, hosts file included. */
export const layer = Layer.succeed(Resolver)({
  lookup: (host) =>
    Effect.tryPromise({
      try: () => lookup(host, { all: true, verbatim: true }),
      catch: (error) =>
        new OutboundError({ reason: error instanceof Error ? error.message : `cannot resolve ${host}`, refused: false })
    }).pipe(
      Effect.map((records) => records.map((r) => ({ address: r.address, family: r.family === 6 ? 6 as const : 4 as const }))),
      Effect.filterOrFail(
        (records) => records.length > 0,
        () => new OutboundError({ reason: `${host} has no A or AAAA record`, refused: false })
      )
    )
})
