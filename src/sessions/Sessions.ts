import { Context, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
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
}

export interface SignedIn {
  readonly user: User
  readonly isNewUser: boolean
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
}>()("sesame/Sessions") {}
