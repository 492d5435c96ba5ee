import { Schema } from "effect"

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) as Scalekit's and Transmit's integrations post them to
 * their token endpoints: `client_secret` is the Sesame API key (`client_id` is not checked: the key
 * names its tenant). Contract only (no server code), so the groups that declare a token endpoint stay
 * importable by the client.
 */
export const ClientCredentialsFields = {
  grant_type: Schema.String,
  client_id: Schema.optionalKey(Schema.String),
  client_secret: Schema.optionalKey(Schema.String),
  scope: Schema.optionalKey(Schema.String)
}

export const ClientCredentialsRequest = Schema.Struct(ClientCredentialsFields)

export const ClientCredentialsTokenFields = {
  access_token: Schema.String,
  token_type: Schema.Literal("Bearer"),
  expires_in: Schema.Int
}

export const ClientCredentialsToken = Schema.Struct(ClientCredentialsTokenFields)
