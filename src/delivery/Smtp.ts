import { Effect, Layer, Redacted } from "effect"
import { createTransport } from "nodemailer"
import addressparser from "nodemailer/lib/addressparser"
import { Mailer, MailerError } from "./Mailer.ts"

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
export const layer = (url: Redacted.Redacted<string>, from: string): Layer.Layer<Mailer> =>
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
