/**
 * @module api/context
 * What every route handler gets: the database seam, token service, limits, the BPMN worker pool,
 * rate limits, and the caller's claims (set by the auth middleware of app.ts; null for an anonymous
 * caller).
 */
import type { Context } from "hono";
import type { Logger } from "pino";
import type { TokenService } from "../auth/tokens.ts";
import { type DiffCache, memoryDiffCache } from "../bpmn/diff-cache.ts";
import { type BpmnWork, inThreadBpmn } from "../bpmn/pool.ts";
import type { AuthClaims, Database } from "../db/database.ts";
import { unauthorized } from "../errors.ts";
import { createRateLimiter, type RateLimiter } from "../http/rate-limit.ts";

export interface AppDeps {
  readonly db: Database;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly maxDiagramBytes: number;
  /** Base URL for absolute thumbnail links; relative links when undefined. */
  readonly publicUrl?: string | undefined;
  /** Where BPMN documents are parsed and diffed (the worker pool); in the request thread when undefined. */
  readonly bpmn?: BpmnWork | undefined;
  /** Request rate limits; in-process defaults when undefined. */
  readonly rateLimiter?: RateLimiter | undefined;
  /** Cache of version diffs; an in-process LRU when undefined. */
  readonly diffCache?: DiffCache | undefined;
  /** Take the client address from X-Forwarded-For (behind a trusted reverse proxy: TRUST_PROXY=true). */
  readonly trustProxy?: boolean | undefined;
  /**
   * Tokens issued elsewhere are accepted (JWT_SECRET shared with Supabase, or JWKS_URL): the web app
   * then offers to sign in with a pasted Supabase token (GET /auth/config). False with the generated secret.
   */
  readonly externalTokens?: boolean | undefined;
}

/** Deps with every optional part filled in: what route groups receive. */
export type ResolvedDeps = AppDeps & Required<Pick<AppDeps, "bpmn" | "rateLimiter" | "diffCache" | "trustProxy">>;

export function resolveDeps(deps: AppDeps): ResolvedDeps {
  return {
    ...deps,
    bpmn: deps.bpmn ?? inThreadBpmn(),
    rateLimiter: deps.rateLimiter ?? createRateLimiter(),
    diffCache: deps.diffCache ?? memoryDiffCache(),
    trustProxy: deps.trustProxy ?? false,
  };
}

export interface AppEnv {
  Variables: {
    claims: AuthClaims | null;
    /** The body limit in force for this request (http/body-limit.ts). */
    bodyLimit: { maxBytes: number; what: string };
  };
}

/** The caller's claims, or 401 when the route needs a signed-in user and there is none. */
export function requireUser(c: Context<AppEnv>): AuthClaims {
  const claims = c.get("claims");
  if (!claims) throw unauthorized("this route needs a signed-in user");
  return claims;
}

export function optionalUser(c: Context<AppEnv>): AuthClaims | null {
  return c.get("claims");
}
