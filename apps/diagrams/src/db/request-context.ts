/**
 * @module db/request-context
 * What both adapters set at the start of a user's transaction, exactly as Supabase's PostgREST does:
 * the role (`authenticated`, or `anon` without a token) and the JWT claims as `request.jwt.claims`
 * (JSON), plus the older per-claim settings `request.jwt.claim.sub` / `.role` some functions read.
 */
import type { AuthClaims } from "./database.ts";

/** The database role of a request; a fixed literal, safe to put in `SET LOCAL ROLE`. */
export function requestRole(claims: AuthClaims | null): "authenticated" | "anon" {
  return claims ? "authenticated" : "anon";
}

export interface ClaimSettings {
  readonly claims: string;
  readonly sub: string;
  readonly role: string;
}

export function claimSettings(claims: AuthClaims | null): ClaimSettings {
  if (!claims) return { claims: JSON.stringify({ role: "anon" }), sub: "", role: "anon" };
  return { claims: JSON.stringify(claims), sub: claims.sub, role: "authenticated" };
}
