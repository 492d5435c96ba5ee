import { Context, Data, Effect, Layer, Redacted, Ref } from "effect"
import { createTransport } from "nodemailer"
import addressparser from "nodemailer/lib/addressparser"

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

const reasonOf = (error: unknown): MailerError => {
  const e = error instanceof Error ? error : new Error(String(error))
  const code = "code" in e && typeof e.code === "string" ? e.code : "ERROR"
  const status = "responseCode" in e && typeof e.responseCode === "number" ? e.responseCode : undefined
  const reason = `${code}${status === undefined ? "" : ` ${status}`}: ${e.message}`.replace(/\s+/g, " ")
  return new MailerError({ reason: reason.slice(0, 300), permanent: status !== undefined && status >= 500 })
}

/** The address part of SMTP_FROM (`"Sesame <no-reply@example.com>"` or a bare address). */
export const senderAddress = (smtpFrom: string): { readonly name: string; readonly address: string } => {
  const first = addressparser(smtpFrom, { flatten: true })[0]
  return { name: first?.name ?? "", address: first?.address ?? smtpFrom.trim() }
}

/**
 * One pooled transport for the process. The From display name is passed as nodemailer's address
 * object, so a tenant-chosen sender name is MIME-encoded by nodemailer and cannot inject headers or
 * a second address.
 */
export const layerSmtp = (url: Redacted.Redacted<string>, from: string): Layer.Layer<Mailer> =>
  Layer.effect(Mailer)(Effect.gen(function* () {
    const sender = senderAddress(from)
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() =>
        createTransport({
          url: Redacted.value(url),
          pool: true,
          maxConnections: 5,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 10_000,
          dnsTimeout: 10_000
        })
      ),
      (t) => Effect.sync(() => t.close())
    )
    const fromOf = (name: string) => name === "" ? sender.address : { name, address: sender.address }
    return Mailer.of({
      send: (email) =>
        Effect.tryPromise({
          try: (signal) =>
            transport.sendMail({
              from: fromOf(email.fromName || sender.name),
              // one address, never parsed as a list
              to: { name: "", address: email.to },
              ...(email.replyTo ? { replyTo: email.replyTo } : {}),
              subject: email.subject,
              text: email.text,
              html: email.html,
              signal
            }),
          catch: reasonOf
        }).pipe(Effect.as({ provider: "smtp" }))
    })
  }))

/** No SMTP configured (development): the message is only logged, hint included, so the developer can sign in. */
export const layerDevOutbox: Layer.Layer<Mailer> = Layer.succeed(Mailer)({
  send: (email) =>
    Effect.logInfo(`dev outbox → to ${email.to}: ${email.subject} (${email.hint})`).pipe(
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
