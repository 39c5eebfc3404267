/**
 * @module auth/tokens
 * Supabase-style access tokens: verified with `jose` against an HS256 secret (JWT_SECRET, or the
 * secret generated for the standalone mode) or a JWKS URL (createRemoteJWKSet caches and refreshes
 * the keys), and issued, for the local sign-up, with the claims Supabase puts in its own:
 * `sub` (user id), `role: "authenticated"`, `aud: "authenticated"`, `email`, `iat`, `exp`.
 */
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import type { AuthClaims } from "../db/database.ts";
import { ApiError, unauthorized } from "../errors.ts";

export const TOKEN_TTL_SECONDS = 60 * 60;
const AUDIENCE = "authenticated";

const ClaimsSchema = z.object({
  sub: z.uuid(),
  role: z.literal("authenticated"),
  email: z.string().optional(),
});

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

export interface TokenService {
  /** False when tokens come from another issuer (JWKS_URL): local sign-up and sign-in are disabled. */
  readonly issuesTokens: boolean;
  /** Verifies a bearer token. Null for a Supabase `anon` key (the caller is anonymous); throws 401 otherwise. */
  verify(token: string): Promise<AuthClaims | null>;
  /** Issues a token for a local user; throws 403 SIGNUP_DISABLED when tokens come from a JWKS (another issuer). */
  issue(user: { id: string; email: string }): Promise<IssuedToken>;
}

export interface TokenServiceOptions {
  readonly secret?: string | undefined;
  readonly jwksUrl?: string | undefined;
  readonly issuer?: string | undefined;
  readonly ttlSeconds?: number;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { secret, jwksUrl, issuer } = options;
  const ttl = options.ttlSeconds ?? TOKEN_TTL_SECONDS;
  if (!secret && !jwksUrl) throw new Error("createTokenService needs a secret or a JWKS URL");
  const hmacKey = secret ? new TextEncoder().encode(secret) : undefined;
  const jwks = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : undefined;

  async function verifyPayload(token: string): Promise<JWTPayload> {
    const opts = issuer ? { issuer } : {};
    if (jwks) return (await jwtVerify(token, jwks, opts)).payload;
    return (await jwtVerify(token, hmacKey!, { ...opts, algorithms: ["HS256"] })).payload;
  }

  return {
    issuesTokens: hmacKey !== undefined,
    async verify(token) {
      let payload: JWTPayload;
      try {
        payload = await verifyPayload(token);
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw unauthorized("the access token has expired");
        throw unauthorized("the access token is invalid");
      }
      if (payload.role === "anon") return null;
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!audiences.includes(AUDIENCE)) throw unauthorized(`the access token's audience is not "${AUDIENCE}"`);
      const claims = ClaimsSchema.safeParse(payload);
      if (!claims.success) throw unauthorized("the access token lacks a user id (sub) or role authenticated");
      return { ...payload, ...claims.data } as AuthClaims;
    },

    async issue(user) {
      if (!hmacKey) throw signupDisabled();
      const now = Math.floor(Date.now() / 1000);
      let jwt = new SignJWT({ role: "authenticated", email: user.email })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(user.id)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + ttl);
      if (issuer) jwt = jwt.setIssuer(issuer);
      return { accessToken: await jwt.sign(hmacKey), expiresAt: now + ttl };
    },
  };
}

export function signupDisabled(): ApiError {
  return new ApiError(
    403,
    "SIGNUP_DISABLED",
    "local sign-up and sign-in are disabled because tokens are verified against JWKS_URL; sign in with your identity provider",
  );
}
