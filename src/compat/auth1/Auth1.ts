import { Context, Effect, Layer } from "effect"
import type {
  AlreadyUsed, ChannelDisabled, CodeExpired, CodeInvalid, DeliveryFailed, InvalidEmail, InvalidPhone, OriginMismatch, RateLimited,
  RedirectNotAllowed, RefreshTokenReused, RiskBlocked, ServiceUnavailable, TokenExpired, TokenInvalid, TooManyAttempts,
  ValidationFailed, VoipNotAllowed
} from "../../api/Errors.ts"
import type { PhoneType } from "../../api/Passwordless.ts"
import type { CurrentKey } from "../../api/Security.ts"
import type { User } from "../../api/Shapes.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import type { Mode } from "../../domain/Ids.ts"
import { authRequestOfUuid, uuidOfAuthRequest } from "../../domain/RequestUuid.ts"
import { TEST_OUTBOX } from "../../delivery/Outbox.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { SmsProvider } from "../../sms/SmsProvider.ts"
import { SessionTokens } from "../../sessions/SessionTokens.ts"
import type { Auth1SessionInfo, Auth1Tokens, Auth1User, Auth1Session, SmsRequest, SmsRequestResponse, SmsVerify } from "./Api.ts"
import type { Auth1BadRequest } from "./Errors.ts"
import { codeInvalid } from "./Product.ts"

type Caller = CurrentKey["Service"]

/** Auth1's SMS codes live 10 minutes (its CODE_EXPIRED row; "Expires in 10 minutes"); native's default is 5. */
const CODE_TTL_SECONDS = 600

/** Auth1 knows three line types: every type that is neither mobile nor VOIP is reported as `landline`. */
const phoneTypeOf = (type: typeof PhoneType.Type): SmsRequestResponse["phoneType"] =>
  type === "mobile" || type === "voip" ? type : "landline"

const userOf = (user: User): Auth1User => ({ id: user.id, phone: user.phone, email: user.email })

/**
 * The provider a delivered message would name when the outbox names none: a decoy (sign-up off, an
 * unknown number) is never delivered, and answering without a provider would tell the caller the
 * number has no account. Test keys deliver to the test outbox; live sends go to the SMS provider
 * configured first (SmsProvider.name).
 */
const usualProvider = (sms: SmsProvider["Service"]) => (mode: Mode): string => mode === "test" ? TEST_OUTBOX : sms.name

/**
 * The Auth1 adapter: each method is one Auth1 endpoint, made of native calls and nothing else. The
 * rules (limits, attempts, single use, the bound email, risk, enumeration safety, audit) are the native
 * ones; native failures are left for `translate` to word, except where Auth1 words one failure
 * differently by endpoint (verify: an unknown id or another email is CODE_INVALID).
 */
export class Auth1 extends Context.Service<Auth1, {
  readonly smsRequest: (caller: Caller, request: SmsRequest) => Effect.Effect<SmsRequestResponse,
    ValidationFailed | InvalidEmail | InvalidPhone | RedirectNotAllowed | ChannelDisabled | VoipNotAllowed | RiskBlocked |
    RateLimited | DeliveryFailed | ServiceUnavailable>
  readonly smsVerify: (caller: Caller, request: SmsVerify) => Effect.Effect<Auth1Tokens,
    Auth1BadRequest | InvalidEmail | InvalidPhone | CodeInvalid | CodeExpired | AlreadyUsed | TooManyAttempts | OriginMismatch |
    RateLimited | ServiceUnavailable>
  readonly session: (current: Auth1Session["Service"]) => Effect.Effect<Auth1SessionInfo, TokenInvalid | ServiceUnavailable>
  readonly refresh: (refreshToken: string) => Effect.Effect<Auth1Tokens,
    TokenInvalid | TokenExpired | RefreshTokenReused | ServiceUnavailable>
  readonly logout: (current: Auth1Session["Service"]) => Effect.Effect<{ readonly success: true }, ServiceUnavailable>
}>()("sesame/compat/Auth1") {}

export const make = Effect.gen(function* () {
  const pw = yield* Passwordless
  const tokens = yield* SessionTokens
  const providerFor = usualProvider(yield* SmsProvider)

  const smsRequest = Effect.fn("Auth1.smsRequest")(function* (caller: Caller, request: SmsRequest) {
    // Sync delivery: the answer names the provider that took the message, and a refusal is SMS_DELIVERY_FAILED.
    const sent = yield* pw.send(caller, {
      channel: "sms", phone: request.phone, email: request.email, expiresIn: CODE_TTL_SECONDS, deliver: "sync"
    })
    const status = yield* pw.status(caller, sent.authRequestId).pipe(Effect.catchTag("NotFound", Effect.die))
    const phoneVerificationId = uuidOfAuthRequest(sent.authRequestId)
    if (phoneVerificationId === undefined || sent.phoneType === undefined || sent.isVoip === undefined || sent.riskScore === undefined) {
      return yield* Effect.die(new Error("an SMS send answered without its UUID alias, line type or risk score"))
    }
    return {
      phoneVerificationId,
      phoneType: phoneTypeOf(sent.phoneType),
      isVoip: sent.isVoip,
      riskScore: sent.riskScore,
      message: "Verification code sent",
      provider: status.delivery.provider ?? providerFor(caller.mode)
    } satisfies SmsRequestResponse
  })

  const smsVerify = Effect.fn("Auth1.smsVerify")(function* (caller: Caller, request: SmsVerify) {
    const authRequestId = authRequestOfUuid(request.phoneVerificationId.trim())
    if (authRequestId === undefined) return yield* codeInvalid()
    const verified = yield* pw.verify(caller, { authRequestId, code: request.verificationCode, email: request.email }).pipe(
      Effect.catchTags({
        NotFound: () => Effect.fail(codeInvalid()),
        // the one ValidationFailed a verify by id can give: another email than the one the SMS was bound to
        ValidationFailed: () => Effect.fail(codeInvalid())
      })
    )
    // The user record keeps only what was proven (the phone); Auth1 answers with the email bound to this sign-in.
    return {
      user: { ...userOf(verified.user), email: verified.user.email ?? normalizeEmail(request.email) ?? request.email },
      token: verified.session.accessToken,
      refreshToken: verified.session.refreshToken
    } satisfies Auth1Tokens
  })

  const session = Effect.fn("Auth1.session")(function* (current: Auth1Session["Service"]) {
    const info = yield* tokens.userinfo(current.session)
    return { user: userOf(info.user), expiresAt: current.expiresAt.toISOString() } satisfies Auth1SessionInfo
  })

  const refresh = Effect.fn("Auth1.refresh")(function* (refreshToken: string) {
    const next = yield* tokens.refresh(refreshToken)
    return { user: userOf(next.user), token: next.session.accessToken, refreshToken: next.session.refreshToken } satisfies Auth1Tokens
  })

  const logout = Effect.fn("Auth1.logout")(function* (current: Auth1Session["Service"]) {
    yield* tokens.logout(current.session)
    return { success: true } as const
  })

  return Auth1.of({ smsRequest, smsVerify, session, refresh, logout })
})

export const layer = Layer.effect(Auth1)(make)
