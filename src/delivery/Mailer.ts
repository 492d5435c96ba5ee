import { Context, Data, Effect, Layer, type Redacted, Ref } from "effect"
import { maskEmail } from "../platform/Mask.ts"

export interface OutgoingEmail {
  readonly to: string
  readonly fromName: string
  readonly subject: string
  readonly text: string
  readonly html: string
  readonly replyTo?: string | null | undefined
  /** A short line for the dev outbox ("code 123456", "link https://…"); never sent, never logged in production. */
  readonly hint: string
}

/** `reason` is stored as the message's `last_error` and shown by the API: it never carries the code or link. */
export class MailerError extends Data.TaggedError("MailerError")<{
  readonly reason: string
  /** The server rejected the message for good (SMTP 5xx): retrying the same message cannot succeed. */
  readonly permanent: boolean
}> {}

export class Mailer extends Context.Service<Mailer, {
  readonly send: (email: OutgoingEmail) => Effect.Effect<{ readonly provider: string }, MailerError>
}>()("sesame/Mailer") {}

/** What the capturing test layer saw, and a switch to make it fail like an SMTP server that is down. */
export class CapturedMail extends Context.Service<CapturedMail, {
  readonly sent: Effect.Effect<ReadonlyArray<OutgoingEmail>>
  /** `null` delivers again; a string makes every send fail with that reason. */
  readonly setFailure: (reason: string | null) => Effect.Effect<void>
}>()("sesame/CapturedMail") {}

/**
 * SMTP delivery (src/delivery/Smtp.ts). nodemailer is imported only when SMTP_URL is set: a server
 * without SMTP never loads its ~40 modules (startup time and resident memory, bench/RESULTS.md).
 */
export const layerSmtp = (url: Redacted.Redacted<string>, from: string): Layer.Layer<Mailer> =>
  Layer.unwrap(Effect.map(Effect.promise(() => import("./Smtp.ts")), (Smtp) => Smtp.layer(url, from)))

/** No SMTP configured (development): the message is only logged, hint included, so the developer can sign in. */
export const layerDevOutbox: Layer.Layer<Mailer> = Layer.succeed(Mailer)({
  send: (email) =>
    Effect.logInfo(`dev outbox → to ${maskEmail(email.to)}: ${email.subject} (${email.hint})`).pipe(
      Effect.as({ provider: "dev-outbox" })
    )
})

/** Capturing test layer: provides `Mailer` and `CapturedMail` over the same state. */
export const layerCapture: Layer.Layer<Mailer | CapturedMail> = Layer.effectContext(Effect.gen(function* () {
  const sent = yield* Ref.make<ReadonlyArray<OutgoingEmail>>([])
  const failure = yield* Ref.make<string | null>(null)
  const mailer = Mailer.of({
    send: (email) =>
      Effect.flatMap(Ref.get(failure), (reason) =>
        reason !== null
          ? Effect.fail(new MailerError({ reason, permanent: false }))
          : Effect.as(Ref.update(sent, (all) => [...all, email]), { provider: "capture" }))
  })
  const captured = CapturedMail.of({ sent: Ref.get(sent), setFailure: (reason) => Ref.set(failure, reason) })
  return Context.make(Mailer, mailer).pipe(Context.add(CapturedMail, captured))
}))
