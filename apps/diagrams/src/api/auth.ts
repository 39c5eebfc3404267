/**
 * @module api/auth
 * Local sign-up and sign-in of the standalone mode: `POST /auth/signup` and `POST /auth/login` with
 * `{ email, password }`, both answering `{ access_token, token_type, expires_at, user }`. Sign-up
 * inserts an `auth.users` row; the migration's trigger creates the FREE profile in the same
 * transaction. `GET /auth/me` answers the caller's profile. `GET /auth/config` tells a sign-in page
 * which ways in this service offers: local accounts, tokens from Supabase (or both).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import { ApiError, unauthorized } from "../errors.ts";
import { clientIp } from "../http/rate-limit.ts";
import { findUserByEmail, insertUser } from "../repo/users.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { readJson } from "./validation.ts";

export const Credentials = z.object({
  email: z
    .email()
    .max(254)
    .transform((e) => e.trim().toLowerCase()),
  password: z.string().min(8, "password must have at least 8 characters").max(1024),
});

/** Hash compared against when the email is unknown, so a wrong email costs as long as a wrong password. */
let decoyHash: Promise<string> | undefined;

export function authRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /**
   * The gate of both routes, before any password hash (one scrypt each) is computed: local sign-up
   * on, then the per-address budget (before the body is parsed), then the per-email budget.
   */
  const admit = async (c: Context<AppEnv>) => {
    deps.tokens.assertLocalSignup();
    await deps.rateLimiter.consume("authIp", clientIp(c, deps.trustProxy));
    const credentials = await readJson(c, Credentials);
    await deps.rateLimiter.consume("authEmail", credentials.email);
    return credentials;
  };

  const answer = async (user: { id: string; email: string }) => {
    const token = await deps.tokens.issue(user);
    const profile = await deps.db.asService(async (sql) => {
      const { rows } = await sql.query<{ plan: string }>("select plan from public.profiles where id = $1", [user.id]);
      return rows[0];
    });
    return {
      access_token: token.accessToken,
      token_type: "bearer",
      expires_at: token.expiresAt,
      user: { id: user.id, email: user.email, plan: profile?.plan ?? "FREE" },
    };
  };

  app.post("/signup", async (c) => {
    const { email, password } = await admit(c);
    const hash = await hashPassword(password);
    const user = await deps.db
      .asService(async (sql) => {
        if (await findUserByEmail(sql, email)) return null;
        return insertUser(sql, email, hash);
      })
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === "23505") return null;
        throw error;
      });
    if (!user) throw new ApiError(409, "EMAIL_TAKEN", `an account with email ${email} exists; sign in with POST /auth/login`);
    return c.json(await answer({ id: user.id, email }), 201);
  });

  app.post("/login", async (c) => {
    const { email, password } = await admit(c);
    const user = await deps.db.asService((sql) => findUserByEmail(sql, email));
    decoyHash ??= hashPassword("decoy password for unknown emails");
    let ok = false;
    if (user?.encrypted_password) ok = await verifyPassword(password, user.encrypted_password);
    else await verifyPassword(password, await decoyHash);
    if (!user || !ok) throw unauthorized("wrong email or password");
    return c.json(await answer({ id: user.id, email: user.email }));
  });

  app.get("/config", (c) => c.json({ local_signup: deps.tokens.issuesTokens, external_tokens: deps.externalTokens === true }));

  app.get("/me", async (c) => {
    const claims = requireUser(c);
    const profile = await deps.db.asUser(claims, async (sql) => {
      const { rows } = await sql.query<{ id: string; email: string | null; plan: string; storage_used_bytes: number }>(
        "select id, email, plan, storage_used_bytes from public.profiles where id = $1",
        [claims.sub],
      );
      return rows[0];
    });
    if (!profile) throw new ApiError(404, "NOT_FOUND", "no profile for this user; sign up first");
    return c.json({ user: profile });
  });

  return app;
}
