import { Context, Data, Effect, Layer, Ref } from "effect"
import { maskPhone } from "../platform/Mask.ts"

export interface OutgoingSms {
  /** E.164 */
  readonly to: string
  readonly body: string
  /** A short line for the dev outbox ("code 123456"); never sent, never logged in production. */
  readonly hint: string
  /** The outbox message id (stable across retries); providers that pass ids on use it for deduplication. */
  readonly messageId?: string | undefined
  /** The auth request the code belongs to, when there is one. */
  readonly authRequestId?: string | null | undefined
}

/** `reason` is stored as the message's `last_error`: it never carries the code or the message body. */
export class SmsError extends Data.TaggedError("SmsError")<{
  readonly reason: string
  /** The provider refused this message for good (e.g. an invalid number): retrying cannot succeed. */
  readonly permanent: boolean
}> {}

/** One method, chosen by configuration (the supabase/auth shape). */
export class SmsProvider extends Context.Service<SmsProvider, {
  /** The provider a message goes to first (the name `send` reports when that one accepts it). */
  readonly name: string
  readonly send: (sms: OutgoingSms) => Effect.Effect<{ readonly provider: string }, SmsError>
}>()("sesame/SmsProvider") {}

/** What the capturing test layer saw, and a switch to make it fail. */
export class CapturedSms extends Context.Service<CapturedSms, {
  readonly sent: Effect.Effect<ReadonlyArray<OutgoingSms>>
  /** `null` delivers again; otherwise every send fails with that error. */
  readonly setFailure: (failure: { readonly reason: string; readonly permanent: boolean } | null) => Effect.Effect<void>
}>()("sesame/CapturedSms") {}

/** No provider configured (development): the message is only logged, code included, like the email dev outbox. */
export const layerDevOutbox: Layer.Layer<SmsProvider> = Layer.succeed(SmsProvider)({
  name: "dev-outbox",
  send: (sms) => Effect.logInfo(`dev sms outbox → to ${maskPhone(sms.to)}: ${sms.hint}`).pipe(Effect.as({ provider: "dev-outbox" }))
})

/** Capturing test layer: provides `SmsProvider` and `CapturedSms` over the same state. */
export const layerCapture: Layer.Layer<SmsProvider | CapturedSms> = Layer.effectContext(Effect.gen(function* () {
  const sent = yield* Ref.make<ReadonlyArray<OutgoingSms>>([])
  const failure = yield* Ref.make<{ readonly reason: string; readonly permanent: boolean } | null>(null)
  const provider = SmsProvider.of({
    name: "capture",
    send: (sms) =>
      Effect.flatMap(Ref.get(failure), (f) =>
        f !== null
          ? Effect.fail(new SmsError(f))
          : Effect.as(Ref.update(sent, (all) => [...all, sms]), { provider: "capture" }))
  })
  const captured = CapturedSms.of({ sent: Ref.get(sent), setFailure: (f) => Ref.set(failure, f) })
  return Context.make(SmsProvider, provider).pipe(Context.add(CapturedSms, captured))
}))
