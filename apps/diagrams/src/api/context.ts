/**
 * @module api/context
 * What every route handler gets: the database seam, token service, limits, and the caller's claims
 * (set by the auth middleware of app.ts; null for an anonymous caller).
 */
import type { Context } from "hono";
import type { Logger } from "pino";
import type { TokenService } from "../auth/tokens.ts";
import type { DiagramValidator } from "../bpmn/validator.ts";
import type { AuthClaims, Database } from "../db/database.ts";
import { unauthorized } from "../errors.ts";

export interface AppDeps {
  readonly db: Database;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly maxDiagramBytes: number;
  /** Base URL for absolute thumbnail links; relative links when undefined. */
  readonly publicUrl?: string | undefined;
  /** Where BPMN documents are parsed before they are stored; in the request thread when undefined. */
  readonly validator?: DiagramValidator | undefined;
}

export interface AppEnv {
  Variables: { claims: AuthClaims | null };
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
