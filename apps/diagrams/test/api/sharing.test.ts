/**
 * Sharing and publishing (issue 14): sharing is an invitation the invitee accepts; the inviter
 * learns nothing about the email or id they typed (same answer with or without an account, no
 * email in the list until accepted); only managers may invite, checked before anything is looked
 * up; owners decide what is public; the security definer helpers are out of the exposed schema.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createPgHarness, type Harness, signUp, type TestUser } from "./harness.ts";

let h: Harness;
let owner: TestUser;
let editor: TestUser;
let stranger: TestUser;
let projectId: string;

beforeAll(async () => {
  h = await createPgHarness();
  owner = await signUp(h, "owner");
  editor = await signUp(h, "editor");
  stranger = await signUp(h, "stranger");
  projectId = (await call(h, "POST", "/projects", { token: owner.token, json: { name: "Launch plan" } })).body.project.id;
  const inv = await call(h, "POST", `/projects/${projectId}/collaborators`, {
    token: owner.token,
    json: { email: editor.email, role: "editor" },
  });
  await call(h, "POST", `/invitations/${inv.body.invitation.id}/accept`, { token: editor.token });
});
afterAll(async () => {
  await h?.close();
});

describe("sharing by invitation", () => {
  it("adding someone's id reveals nothing about them: no email, no profile, not a member", async () => {
    // The attack of the issue: a user id seen on a public diagram, added to one's own project.
    const mine = (await call(h, "POST", "/projects", { token: stranger.token, json: { name: "Bait" } })).body.project.id;
    const added = await call(h, "POST", `/projects/${mine}/collaborators`, {
      token: stranger.token,
      json: { user_id: owner.id, role: "viewer" },
    });
    expect(added.status).toBe(201);
    expect(added.body.invitation).toEqual({
      id: expect.any(String),
      project_id: mine,
      email: null,
      user_id: owner.id,
      role: "viewer",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(added.text).not.toContain(owner.email);
    const list = await call(h, "GET", `/projects/${mine}/collaborators`, { token: stranger.token });
    expect(list.body.items).toEqual([]);
    expect(list.text).not.toContain(owner.email);
    const pending = await call(h, "GET", `/projects/${mine}/invitations`, { token: stranger.token });
    expect(pending.text).not.toContain(owner.email);
    // The invitee sees it, may decline; nothing about them ever reached the inviter.
    const received = await call(h, "GET", "/invitations", { token: owner.token });
    const invitation = received.body.items.find((i: { project: { id: string } }) => i.project.id === mine);
    expect(invitation).toMatchObject({
      role: "viewer",
      project: { id: mine, name: "Bait" },
      invited_by: { email: stranger.email },
    });
    expect((await call(h, "DELETE", `/invitations/${invitation.id}`, { token: owner.token })).status).toBe(204);
    expect((await call(h, "POST", `/invitations/${invitation.id}/accept`, { token: owner.token })).status).toBe(404);
  });

  it("answers the same whether or not the email has an account", async () => {
    const invite = (email: string) =>
      call(h, "POST", `/projects/${projectId}/collaborators`, { token: owner.token, json: { email, role: "viewer" } });
    const known = await invite(stranger.email);
    const unknown = await invite("nobody-here@example.test");
    expect([known.status, unknown.status]).toEqual([201, 201]);
    const shape = (b: { invitation: Record<string, unknown> }) => Object.keys(b.invitation).sort();
    expect(shape(known.body)).toEqual(shape(unknown.body));
    expect(known.body.invitation).toMatchObject({ email: stranger.email, user_id: null, role: "viewer" });
    expect(unknown.body.invitation).toMatchObject({ email: "nobody-here@example.test", user_id: null, role: "viewer" });
    // Pending invitees are not members: the members do not see them, and they do not see the project.
    const members = await call(h, "GET", `/projects/${projectId}/collaborators`, { token: editor.token });
    expect(members.body.items.map((m: { user_id: string }) => m.user_id)).toEqual([editor.id]);
    expect((await call(h, "GET", `/projects/${projectId}`, { token: stranger.token })).status).toBe(404);
    // The account with that email sees the invitation; withdrawn, it is gone.
    const theirs = await call(h, "GET", "/invitations", { token: stranger.token });
    expect(theirs.body.items.map((i: { id: string }) => i.id)).toEqual([known.body.invitation.id]);
    await call(h, "DELETE", `/projects/${projectId}/invitations/${known.body.invitation.id}`, { token: owner.token });
    expect((await call(h, "GET", "/invitations", { token: stranger.token })).body.items).toEqual([]);
  });

  it("checks that the caller manages the project before anything is looked up: 404 either way", async () => {
    for (const token of [editor.token, stranger.token]) {
      const existing = await call(h, "POST", `/projects/${projectId}/collaborators`, {
        token,
        json: { email: owner.email, role: "viewer" },
      });
      const missing = await call(h, "POST", `/projects/${projectId}/collaborators`, {
        token,
        json: { email: "ghost@example.test", role: "viewer" },
      });
      expect([existing.status, missing.status]).toEqual([404, 404]);
      expect(existing.body).toEqual(missing.body);
      expect(existing.body.error.message).toMatch(/^project not found/);
    }
    expect((await call(h, "GET", `/projects/${projectId}/invitations`, { token: editor.token })).status).toBe(404);
  });

  it("an accepted invitation makes a member with the invited role; the role can change, the member can leave", async () => {
    const newcomer = await signUp(h, "newcomer");
    const inv = await call(h, "POST", `/projects/${projectId}/collaborators`, {
      token: owner.token,
      json: { user_id: newcomer.id, role: "viewer" },
    });
    const accepted = await call(h, "POST", `/invitations/${inv.body.invitation.id}/accept`, { token: newcomer.token });
    expect(accepted.body.accepted).toEqual({ project_id: projectId, role: "viewer" });
    const members = await call(h, "GET", `/projects/${projectId}/collaborators`, { token: owner.token });
    expect(members.body.items).toContainEqual(expect.objectContaining({ user_id: newcomer.id, email: newcomer.email }));
    const promoted = await call(h, "PUT", `/projects/${projectId}/collaborators/${newcomer.id}`, {
      token: owner.token,
      json: { role: "editor" },
    });
    expect(promoted.body.collaborator).toMatchObject({ user_id: newcomer.id, role: "editor" });
    // PUT no longer adds anyone.
    const direct = await call(h, "PUT", `/projects/${projectId}/collaborators/${stranger.id}`, {
      token: owner.token,
      json: { role: "viewer" },
    });
    expect(direct.status).toBe(404);
    expect(
      (await call(h, "DELETE", `/projects/${projectId}/collaborators/${newcomer.id}`, { token: newcomer.token })).status,
    ).toBe(204);
  });
});

describe("owners decide what is public", () => {
  it("an editor cannot publish or unpublish a diagram, nor create a public one; the owner can", async () => {
    const d = await call(h, "POST", "/diagrams", { token: editor.token, json: { project_id: projectId, title: "Draft" } });
    expect(d.status).toBe(201);
    const id = d.body.diagram.id;
    const publish = await call(h, "PATCH", `/diagrams/${id}`, { token: editor.token, json: { is_public: true } });
    expect(publish.status).toBe(403);
    expect(publish.body.error.message).toMatch(/only an owner of the project decides whether a diagram is public/);
    expect((await call(h, "GET", `/diagrams/${id}`)).status).toBe(404);
    const created = await call(h, "POST", "/diagrams", {
      token: editor.token,
      json: { project_id: projectId, title: "Public by editor", is_public: true },
    });
    expect(created.status).toBe(403);
    expect((await call(h, "PATCH", `/diagrams/${id}`, { token: editor.token, json: { title: "Renamed" } })).status).toBe(200);
    expect((await call(h, "PATCH", `/diagrams/${id}`, { token: owner.token, json: { is_public: true } })).status).toBe(200);
    expect((await call(h, "GET", `/diagrams/${id}`)).status).toBe(200);
    const unpublish = await call(h, "PATCH", `/diagrams/${id}`, { token: editor.token, json: { is_public: false } });
    expect(unpublish.status).toBe(403);
    // The project row (and its is_public) stays the owners' to change.
    const projectPublish = await call(h, "PATCH", `/projects/${projectId}`, { token: editor.token, json: { is_public: true } });
    expect(projectPublish.status).toBe(404);
  });

  it("no SECURITY DEFINER function is left in the public schema (exposed as RPC on Supabase)", async () => {
    const r = await h.db.asService((sql) =>
      sql.query<{ name: string }>(
        `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prosecdef order by 1`,
      ),
    );
    expect(r.rows).toEqual([]);
    const helpers = await h.db.asService((sql) =>
      sql.query<{ name: string }>(
        `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'stowage_private' and p.proname in ('project_role', 'is_project_peer', 'project_is_public')
         order by 1`,
      ),
    );
    expect(helpers.rows.map((x) => x.name)).toEqual(["is_project_peer", "project_is_public", "project_role"]);
  });
});
