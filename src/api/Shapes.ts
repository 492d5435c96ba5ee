import { Schema } from "effect"
import { SessionId, UserId } from "../domain/Ids.ts"

export const User = Schema.Struct({
  id: UserId,
  email: Schema.NullOr(Schema.String),
  phone: Schema.NullOr(Schema.String),
  emailVerifiedAt: Schema.NullOr(Schema.String),
  phoneVerifiedAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  lastLoginAt: Schema.NullOr(Schema.String)
})
export type User = typeof User.Type

export const Session = Schema.Struct({
  id: SessionId,
  accessToken: Schema.String,
  refreshToken: Schema.String,
  tokenType: Schema.Literal("Bearer"),
  expiresIn: Schema.Int,
  expiresAt: Schema.Int,
  refreshExpiresAt: Schema.Int
})
export type Session = typeof Session.Type
