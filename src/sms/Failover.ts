import { Effect } from "effect"
import { SmsError, SmsProvider } from "./SmsProvider.ts"

/**
 * Tries each provider in order (Auth1's "twilio or sns") until one accepts the message. A permanent
 * refusal (the number itself is invalid) stops there: another provider would refuse it too, at a cost.
 */
export const failover = (providers: ReadonlyArray<SmsProvider["Service"]>): SmsProvider["Service"] =>
  SmsProvider.of({
    name: providers[0]?.name ?? "none",
    send: (sms) =>
      Effect.gen(function* () {
        const reasons: Array<string> = []
        for (const provider of providers) {
          const result = yield* Effect.result(provider.send(sms))
          if (result._tag === "Success") return result.success
          reasons.push(result.failure.reason)
          if (result.failure.permanent) return yield* new SmsError({ reason: reasons.join("; "), permanent: true })
        }
        return yield* new SmsError({ reason: reasons.join("; ") || "no SMS provider", permanent: false })
      })
  })
