import { Layer } from "effect"
import * as UsersLive from "../users/Users.ts"
import * as Discovery from "./Discovery.ts"
import * as RefreshTokens from "./RefreshTokens.ts"
import * as SessionAdmin from "./SessionAdmin.ts"
import * as SessionStore from "./SessionStore.ts"
import * as SessionTokens from "./SessionTokens.ts"
import * as UserStore from "./UserStore.ts"

/** Sessions, tokens and users (issue #3) over the database, the signer, tenants and transactions. */
export const SessionServicesLive = Layer.mergeAll(SessionAdmin.layer, SessionTokens.layer, UsersLive.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(SessionStore.layer, RefreshTokens.layer, UserStore.layer, Discovery.layer))
)
