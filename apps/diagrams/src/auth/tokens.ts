/**
 * @module auth/tokens
 * Supabase-style access tokens: verified with `jose` against an HS256 secret (JWT_SECRET, or the
 * secret generated for the standalone mode) or a JWKS URL (createRemoteJWKSet caches and refreshes
 * the keys), and issued, for the local sign-up, with the claims Supabase puts in its own:
 * `sub` (user id), `role: "authenticated"`, `aud: "authenticated"`, `email`, `iat`, `exp`.
 *
 * Verified tokens are remembered (exact token string → claims, bounded LRU) for at most
 * VERIFIED_TOKEN_TTL_MS and never past their `exp`: a client sends the same bearer token with every
 * request, and jose's HMAC check goes through WebCrypto's job queue (≈0.1 ms of CPU per request,
 * 15% of the service's CPU in the save benchmark). Only a token that passed the full check is
 * cached, so a forged or altered token never matches an entry.
 */
import { createRemoteJWKSet, type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import type { AuthClaims } from "../db/database.ts";
import { ApiError, unauthorized } from "../errors.ts";

export const TOKEN_TTL_SECONDS = 60 * 60;
/** How long a verified token is trusted without checking its signature again (bounded by its exp). */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
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
  /**
   * Whether local sign-up and sign-in are on: only with a signing secret AND `localSignup` (the
   * generated secret, or LOCAL_SIGNUP=true next to JWT_SECRET). Off with JWKS_URL (another issuer).
   */
  readonly issuesTokens: boolean;
  /** Throws 403 SIGNUP_DISABLED (saying why) unless local sign-up is on. */
  assertLocalSignup(): void;
  /** Verifies a bearer token. Null for a Supabase `anon` key (the caller is anonymous); throws 401 otherwise. */
  verify(token: string): Promise<AuthClaims | null>;
  /** Issues a token for a local user; throws 403 SIGNUP_DISABLED when tokens come from a JWKS (another issuer). */
  issue(user: { id: string; email: string }): Promise<IssuedToken>;
}

export interface TokenServiceOptions {
  readonly secret?: string | undefined;
  /**
   * Issue tokens for local accounts. A JWT_SECRET may be Supabase's own secret, valid for the whole
   * Supabase project: minting tokens with it is opt-in (LOCAL_SIGNUP=true). Default false.
   */
  readonly localSignup?: boolean | undefined;
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
    // A token without exp would be valid forever: refused, whoever signed it.
    const opts = { requiredClaims: ["exp"], ...(issuer ? { issuer } : {}) };
    if (jwks) return (await jwtVerify(token, jwks, opts)).payload;
    return (await jwtVerify(token, hmacKey!, { ...opts, algorithms: ["HS256"] })).payload;
  }

  // Claims of verified tokens (null = a verified anon key), each entry kept until min(exp, TTL).
  const verified = new LRUCache<string, { claims: AuthClaims | null }>({ max: VERIFIED_TOKEN_CACHE_SIZE });

  async function verifyFully(token: string): Promise<{ claims: AuthClaims | null; exp: number | undefined }> {
    let payload: JWTPayload;
    try {
      payload = await verifyPayload(token);
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthorized("the access token has expired");
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === "exp") {
        throw unauthorized("the access token has no expiry (exp); tokens without one are refused");
      }
      throw unauthorized("the access token is invalid");
    }
    if (payload.role === "anon") return { claims: null, exp: payload.exp };
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!audiences.includes(AUDIENCE)) throw unauthorized(`the access token's audience is not "${AUDIENCE}"`);
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) throw unauthorized("the access token lacks a user id (sub) or role authenticated");
    return { claims: { ...payload, ...claims.data } as AuthClaims, exp: payload.exp };
  }

  return {
    issuesTokens: hmacKey !== undefined && options.localSignup === true,
    assertLocalSignup() {
      if (!hmacKey || options.localSignup !== true) throw signupDisabled(jwksUrl ? "jwks" : "secret");
    },
    async verify(token) {
      const hit = verified.get(token);
      if (hit) return hit.claims;
      const { claims, exp } = await verifyFully(token);
      // jose rejects an expired token, so exp (if any) is in the future here; the entry ends at the
      // earlier of exp and the TTL, so a cached token is never accepted after it expires.
      const ttl = exp === undefined ? VERIFIED_TOKEN_TTL_MS : Math.min(VERIFIED_TOKEN_TTL_MS, exp * 1000 - Date.now());
      if (ttl > 0) verified.set(token, { claims }, { ttl });
      return claims;
    },

    async issue(user) {
      if (!hmacKey || options.localSignup !== true) throw signupDisabled(jwksUrl ? "jwks" : "secret");
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

export function signupDisabled(reason: "jwks" | "secret"): ApiError {
  return new ApiError(
    403,
    "SIGNUP_DISABLED",
    reason === "jwks"
      ? "local sign-up and sign-in are disabled because tokens are verified against JWKS_URL; sign in with your identity provider"
      : "local sign-up and sign-in are disabled because JWT_SECRET is set (it may be your Supabase project's secret); sign in with your identity provider, or set LOCAL_SIGNUP=true to let this service create accounts",
  );
}
