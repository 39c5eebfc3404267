/**
 * @module api/invitations
 * The invitee's side of sharing: `GET /invitations` lists the invitations addressed to the caller
 * (by user id, or by the email of their profile) with the project's name and who invited them;
 * `POST /invitations/:id/accept` makes the caller a collaborator with the invited role;
 * `DELETE /invitations/:id` declines.
 */
import { Hono } from "hono";
import { notFound } from "../errors.ts";
import * as invitations from "../repo/invitations.ts";
import { type AppEnv, type ResolvedDeps, requireUser } from "./context.ts";
import { uuidParam } from "./validation.ts";

export function invitationRoutes(deps: ResolvedDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { db } = deps;

  app.get("/", async (c) => {
    const claims = requireUser(c);
    const items = await db.asService((sql) => invitations.listReceivedInvitations(sql, claims.sub));
    return c.json({ items });
  });

  app.post("/:invitationId/accept", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "invitationId");
    const accepted = await db.asUser(claims, (sql) => invitations.acceptInvitation(sql, id));
    return c.json({ accepted });
  });

  app.delete("/:invitationId", async (c) => {
    const claims = requireUser(c);
    const id = uuidParam(c, "invitationId");
    const gone = await db.asUser(claims, async (sql) => {
      // RLS lets the invitee (and the project's owners) delete it; owners use the project route.
      const { rows } = await sql.query<{ ok: boolean }>(
        `select exists (select 1 from public.invitations i where i.id = $1
           and (i.invitee_id = $2 or i.email = stowage_private.my_email())) as ok`,
        [id, claims.sub],
      );
      return rows[0]?.ok === true && (await invitations.deleteInvitation(sql, id));
    });
    if (!gone) throw notFound("invitation");
    return c.body(null, 204);
  });

  return app;
}
