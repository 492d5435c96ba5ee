import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../api/Api.ts"
import { CurrentKey } from "../api/Security.ts"
import { Exchange } from "../passwordless/Exchange.ts"

export const ExchangeHandlers = HttpApiBuilder.group(Api, "exchange", (h) =>
  Effect.gen(function* () {
    const exchange = yield* Exchange
    return h.handle("exchange", ({ payload }) => Effect.flatMap(CurrentKey, (key) => exchange.exchange(key, payload)))
  }))
