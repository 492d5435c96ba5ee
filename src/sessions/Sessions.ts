import { Context, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { Approval } from "../api/Passwordless.ts"
import type { Session, User } from "../api/Shapes.ts"
import type { Channel, Mode, TenantId } from "../domain/Ids.ts"
import type { Policy } from "../domain/TenantSettings.ts"

export interface SignInInput {
  readonly tenantId: TenantId
  readonly mode: Mode
  /** Which identifier was proven: the user is found or created by it, and it is marked verified. */
  readonly channel: Channel
  readonly email: string | null
  readonly phone: string | null
  readonly amr: ReadonlyArray<string>
  readonly clientIp: string | null
  readonly userAgent: string | null
  readonly policy: Policy
  /** The auth request's approval: its ID token carries it (`approval_data`). */
  readonly approval?: Approval | null
  /**
   * What the sign-in events also say about the request (Auth1's webhook data): the email an SMS was
   * bound to, the send's risk score and whether the number was VOIP.
   */
  readonly request?: { readonly email: string | null; readonly riskScore: number | null; readonly isVoip: boolean | null }
}

/** A proven identifier's user, without a session (`Passwordless.confirm`: the application keeps its own sessions). */
export interface Confirmed {
  readonly user: User
  readonly isNewUser: boolean
}

export interface SignedIn extends Confirmed {
  readonly session: Session
  readonly idToken: string
}

export class Sessions extends Context.Service<Sessions, {
  /**
   * Finds or creates the user, opens a session with a refresh token, signs the access and id tokens
   * and records `user.created` / `login.success`. Runs on the caller's SQL client, so inside the
   * caller's transaction when there is one (the verify that consumed the code).
   */
  readonly signIn: (input: SignInInput) => Effect.Effect<SignedIn, ServiceUnavailable>
  /** `signIn` without the session: finds or creates the user, marks the identifier verified, same events. */
  readonly confirm: (input: SignInInput) => Effect.Effect<Confirmed, ServiceUnavailable>
}>()("sesame/Sessions") {}
