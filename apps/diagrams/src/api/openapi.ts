/**
 * @module api/openapi
 * The OpenAPI 3.1 document served at GET /openapi.json, written by hand next to the routes: request
 * bodies are generated from the routes' own zod schemas (z.toJSONSchema), so the document and the
 * validation cannot drift apart.
 */
import { type ZodType, z } from "zod";
import { Credentials } from "./auth.ts";
import { AddCollaboratorBody, SetRoleBody } from "./collaborators.ts";
import { CreateDiagramBody, PatchDiagramBody, SaveContentBody } from "./diagrams.ts";
import { objectRoutePaths, objectRouteSchemas } from "./openapi-objects.ts";
import { CreateProjectBody, PatchProjectBody } from "./projects.ts";
import { RestoreVersionBody } from "./versions.ts";

const json = (schema: ZodType) => ({
  required: true,
  content: { "application/json": { schema: z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) } },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema?: object) =>
  schema ? { description, content: { "application/json": { schema } } } : { description };
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/Error${c}` }]));

const uuid = (name: string, where: "path" | "query" = "path") => ({
  name,
  in: where,
  required: where === "path",
  schema: { type: "string", format: "uuid" },
});
const pageParams = [
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
  { name: "cursor", in: "query", description: "next_cursor of the previous page (opaque)", schema: { type: "string" } },
];
const permanent = {
  name: "permanent",
  in: "query",
  description: "true: delete for good (purge) instead of moving to the trash",
  schema: { type: "string", enum: ["true", "false"], default: "false" },
};
const versionParam = {
  name: "version",
  in: "path",
  required: true,
  schema: { type: "integer", minimum: 1, maximum: 2_147_483_647 },
};
const page = (item: string) => ({
  type: "object",
  required: ["items", "next_cursor"],
  properties: { items: { type: "array", items: ref(item) }, next_cursor: { type: ["string", "null"] } },
});
const wrap = (key: string, schema: string) => ({ type: "object", properties: { [key]: ref(schema) } });

let cached: object | undefined;

export function openApiDocument(): object {
  cached ??= build();
  return cached;
}

const helpers = { json, ref, ok, errors, uuid };

function build(): object {
  const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ref("Error") } } });
  return {
    openapi: "3.1.0",
    info: {
      title: "Stowage diagram service",
      version: "0.1.0",
      description:
        "Projects, BPMN diagrams and their version history. Every route except /auth/* and /openapi.json takes " +
        "`Authorization: Bearer <access_token>`; public diagrams and projects can be read without a token. " +
        "Rows you may not see answer 404. Errors are `{ error: { code, message } }`.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string" },
                message: { type: "string" },
                current_version: { type: "integer", description: "STALE_VERSION only" },
                limit: { type: "string", description: "PLAN_LIMIT only" },
                plan: { type: "string", description: "PLAN_LIMIT only" },
              },
            },
          },
        },
        Usage: {
          type: "object",
          required: ["plan", "limits", "used"],
          properties: {
            plan: { type: "string", enum: ["FREE", "PRO", "ENTERPRISE"] },
            limits: {
              type: "object",
              description: "null = unlimited",
              properties: {
                projects: { type: ["integer", "null"] },
                diagrams_per_project: { type: ["integer", "null"] },
                personal_diagrams: { type: ["integer", "null"] },
                versions_kept: { type: ["integer", "null"], description: "versions kept per diagram" },
                total_storage_bytes: { type: ["integer", "null"] },
                export_formats: { type: "array", items: { type: "string" } },
              },
            },
            used: {
              type: "object",
              properties: {
                projects: { type: "integer", description: "live projects I own" },
                diagrams: { type: "integer", description: "live diagrams of my personal space and my projects" },
                diagrams_in_trash: { type: "integer" },
                versions: { type: "integer", description: "versions kept of those diagrams (trash included)" },
                bytes: { type: "integer", description: "bytes charged to me (XML, versions, exports, attachments, backups)" },
              },
            },
          },
        },
        Session: {
          type: "object",
          properties: {
            access_token: { type: "string" },
            token_type: { type: "string", const: "bearer" },
            expires_at: { type: "integer", description: "Unix seconds" },
            user: {
              type: "object",
              properties: { id: { type: "string", format: "uuid" }, email: { type: "string" }, plan: { type: "string" } },
            },
          },
        },
        Project: {
          type: "object",
          properties: {
            id: { type: "string", format: "uuid" },
            profile_id: { type: "string", format: "uuid" },
            name: { type: "string" },
            description: { type: ["string", "null"] },
            settings: { type: "object" },
            metadata: { type: "object" },
            is_public: { type: "boolean" },
            deleted_at: { type: ["string", "null"], format: "date-time" },
            created_at: { type: "string", format: "date-time" },
            updated_at: { type: "string", format: "date-time" },
          },
        },
        Collaborator: {
          type: "object",
          properties: {
            user_id: { type: "string", format: "uuid" },
            email: { type: ["string", "null"] },
            role: { type: "string", enum: ["viewer", "editor", "owner"] },
          },
        },
        DiagramMeta: {
          type: "object",
          description: "Diagram metadata; lists never carry XML.",
          properties: {
            id: { type: "string", format: "uuid" },
            project_id: { type: ["string", "null"], format: "uuid" },
            profile_id: { type: "string", format: "uuid" },
            title: { type: "string" },
            thumbnail_url: { type: ["string", "null"] },
            metadata: { type: "object" },
            version: { type: "integer" },
            is_public: { type: "boolean" },
            xml_bytes: { type: "integer" },
            deleted_at: { type: ["string", "null"], format: "date-time" },
            created_at: { type: "string", format: "date-time" },
            updated_at: { type: "string", format: "date-time" },
          },
        },
        Diagram: {
          allOf: [ref("DiagramMeta"), { type: "object", properties: { bpmn_xml: { type: "string" } } }],
        },
        SavedVersion: {
          type: "object",
          properties: {
            diagram_id: { type: "string", format: "uuid" },
            version: { type: "integer" },
            updated_at: { type: "string", format: "date-time" },
            restored_from: { type: "integer" },
          },
        },
        VersionMeta: {
          type: "object",
          properties: {
            version: { type: "integer" },
            author_id: { type: ["string", "null"], format: "uuid" },
            message: { type: ["string", "null"] },
            metadata: { type: "object" },
            xml_bytes: { type: "integer" },
            created_at: { type: "string", format: "date-time" },
          },
        },
        Version: {
          allOf: [ref("VersionMeta"), { type: "object", properties: { bpmn_xml: { type: "string" } } }],
        },
        Diff: {
          type: "object",
          properties: {
            from: { type: "integer" },
            to: { type: "integer" },
            added: { type: "array", items: { type: "object", properties: { id: { type: "string" }, type: { type: "string" } } } },
            removed: { type: "array", items: { type: "object" } },
            changed: { type: "array", items: { type: "object" } },
            layout_changed: { type: "array", items: { type: "object" } },
          },
        },
        ...objectRouteSchemas(helpers),
      },
      responses: {
        Error400: errorResponse("VALIDATION_FAILED: the message names the field"),
        Error401: errorResponse("UNAUTHORIZED: missing, invalid or expired token"),
        Error402: errorResponse("PLAN_LIMIT: the message names the limit and the plan"),
        Error403: errorResponse(
          "READ_ONLY (visible but not writable; an editor setting is_public) or SIGNUP_DISABLED (JWKS_URL, or JWT_SECRET without LOCAL_SIGNUP=true)",
        ),
        Error404: errorResponse("NOT_FOUND: does not exist or not visible to you"),
        Error409: errorResponse("STALE_VERSION (with current_version), EMAIL_TAKEN or CONFLICT"),
        Error413: errorResponse(
          "PAYLOAD_TOO_LARGE (max_bytes): the body is over the route's limit (MAX_DIAGRAM_BYTES for diagrams, 256 KiB for other JSON), answered before it is read",
        ),
        Error415: errorResponse("UNSUPPORTED_MEDIA_TYPE"),
        Error422: errorResponse(
          "INVALID_BPMN (the parser's message) or TOO_MANY_ELEMENTS (max_elements: over MAX_DIAGRAM_ELEMENTS)",
        ),
        Error429: errorResponse(
          "RATE_LIMITED (retry_after; Retry-After header): login/sign-up per address and email, anonymous requests per address",
        ),
        Error503: errorResponse(
          "SERVER_BUSY (retry_after; Retry-After header): the BPMN worker queue is full; nothing was stored",
        ),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/auth/signup": {
        post: {
          summary: "Create a local account (FREE plan) and sign in",
          security: [],
          requestBody: json(Credentials),
          responses: { "201": ok("Signed up", ref("Session")), ...errors(400, 403, 409, 413, 429) },
        },
      },
      "/auth/login": {
        post: {
          summary: "Sign in with email and password",
          security: [],
          requestBody: json(Credentials),
          responses: { "200": ok("Signed in", ref("Session")), ...errors(400, 401, 403, 413, 429) },
        },
      },
      "/auth/config": {
        get: {
          summary:
            "How this service signs people in: local accounts (local_signup) and/or tokens from Supabase (external_tokens)",
          security: [],
          responses: {
            "200": ok("Sign-in options", {
              type: "object",
              required: ["local_signup", "external_tokens"],
              properties: { local_signup: { type: "boolean" }, external_tokens: { type: "boolean" } },
            }),
          },
        },
      },
      "/usage": {
        get: {
          summary: "My plan, its limits (null = unlimited) and what I use: projects, diagrams, versions kept, bytes",
          responses: { "200": ok("Plan and storage use", ref("Usage")), ...errors(401, 404) },
        },
      },
      "/auth/me": { get: { summary: "The caller's profile and plan", responses: { "200": ok("Profile"), ...errors(401) } } },
      "/projects": {
        get: {
          summary: "List my projects (scope=owned) or projects shared with me (scope=shared)",
          parameters: [...pageParams, { name: "scope", in: "query", schema: { type: "string", enum: ["owned", "shared"] } }],
          responses: { "200": ok("A page", page("Project")), ...errors(400, 401) },
        },
        post: {
          summary: "Create a project",
          requestBody: json(CreateProjectBody),
          responses: { "201": ok("Created", wrap("project", "Project")), ...errors(400, 401, 402) },
        },
      },
      "/projects/trash": {
        get: {
          summary: "My trashed projects",
          parameters: pageParams,
          responses: { "200": ok("A page", page("Project")), ...errors(401) },
        },
      },
      "/projects/{projectId}": {
        parameters: [uuid("projectId")],
        get: {
          summary: "Get a project",
          security: [{}, { bearer: [] }],
          responses: { "200": ok("The project", wrap("project", "Project")), ...errors(404) },
        },
        patch: {
          summary: "Rename, describe, change settings/metadata/is_public",
          requestBody: json(PatchProjectBody),
          responses: { "200": ok("Updated", wrap("project", "Project")), ...errors(400, 401, 404) },
        },
        delete: {
          summary: "Move to the trash, or purge with permanent=true",
          parameters: [permanent],
          responses: { "204": ok("Done"), ...errors(401, 404) },
        },
      },
      "/projects/{projectId}/restore": {
        parameters: [uuid("projectId")],
        post: {
          summary: "Restore from the trash",
          responses: { "200": ok("Restored", wrap("project", "Project")), ...errors(401, 402, 404) },
        },
      },
      "/projects/{projectId}/collaborators": {
        parameters: [uuid("projectId")],
        get: { summary: "List collaborators", responses: { "200": ok("Collaborators"), ...errors(401, 404) } },
        post: {
          summary:
            "Invite an email or a user id as viewer or editor (owners only; 404 otherwise, checked first). The answer is the same whether or not the email or id has an account: the invitation holds only what you typed. The invitee accepts with POST /invitations/{invitationId}/accept.",
          requestBody: json(AddCollaboratorBody),
          responses: { "201": ok("Invited", { type: "object", properties: { invitation: {} } }), ...errors(400, 401, 404) },
        },
      },
      "/projects/{projectId}/invitations": {
        parameters: [uuid("projectId")],
        get: {
          summary: "Pending invitations of the project (owners only)",
          responses: { "200": ok("Invitations"), ...errors(401, 404) },
        },
      },
      "/projects/{projectId}/invitations/{invitationId}": {
        parameters: [uuid("projectId"), uuid("invitationId")],
        delete: { summary: "Withdraw an invitation (owners only)", responses: { "204": ok("Withdrawn"), ...errors(401, 404) } },
      },
      "/invitations": {
        get: {
          summary:
            "Invitations addressed to me (by my user id or my profile's email), with the project's name and who invited me",
          responses: { "200": ok("Invitations"), ...errors(401) },
        },
      },
      "/invitations/{invitationId}/accept": {
        parameters: [uuid("invitationId")],
        post: {
          summary: "Accept: become a collaborator with the invited role",
          responses: { "200": ok("Accepted: { accepted: { project_id, role } }"), ...errors(401, 404, 409) },
        },
      },
      "/invitations/{invitationId}": {
        parameters: [uuid("invitationId")],
        delete: { summary: "Decline an invitation", responses: { "204": ok("Declined"), ...errors(401, 404) } },
      },
      "/projects/{projectId}/collaborators/{userId}": {
        parameters: [uuid("projectId"), uuid("userId")],
        put: {
          summary: "Change a collaborator's role (owners only; to add someone, invite them)",
          requestBody: json(SetRoleBody),
          responses: { "200": ok("Set", wrap("collaborator", "Collaborator")), ...errors(400, 401, 404) },
        },
        delete: { summary: "Remove a collaborator (owner only)", responses: { "204": ok("Removed"), ...errors(401, 404) } },
      },
      "/diagrams": {
        get: {
          summary:
            "List diagrams of a project (project_id) or of my personal space; metadata only. With q: titles containing q " +
            "(case-insensitive), within project_id or, without it, over every diagram I work with (personal, own and shared projects)",
          parameters: [
            ...pageParams,
            uuid("project_id", "query"),
            { name: "q", in: "query", description: "title search", schema: { type: "string", minLength: 1, maxLength: 200 } },
          ],
          responses: { "200": ok("A page", page("DiagramMeta")), ...errors(400, 401, 404) },
        },
        post: {
          summary: "Create a diagram (default empty BPMN when bpmn_xml is absent)",
          requestBody: json(CreateDiagramBody),
          responses: { "201": ok("Created", wrap("diagram", "DiagramMeta")), ...errors(400, 401, 402, 404, 413, 422) },
        },
      },
      "/diagrams/import": {
        post: {
          summary: "Import a .bpmn file: multipart/form-data (file, title, project_id) or raw application/xml body",
          parameters: [uuid("project_id", "query"), { name: "title", in: "query", schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: ["file"],
                  properties: {
                    file: { type: "string", format: "binary" },
                    title: { type: "string" },
                    project_id: { type: "string" },
                  },
                },
              },
              "application/xml": { schema: { type: "string" } },
            },
          },
          responses: { "201": ok("Imported", wrap("diagram", "DiagramMeta")), ...errors(400, 401, 402, 404, 413, 415, 422) },
        },
      },
      "/diagrams/trash": {
        get: {
          summary: "My trashed diagrams",
          parameters: pageParams,
          responses: { "200": ok("A page", page("DiagramMeta")), ...errors(401) },
        },
      },
      "/diagrams/{diagramId}": {
        parameters: [uuid("diagramId")],
        get: {
          summary: "Get a diagram with its XML (JSON; raw XML with Accept: application/xml or format=xml)",
          security: [{}, { bearer: [] }],
          responses: {
            "200": {
              description: "The diagram",
              content: {
                "application/json": { schema: wrap("diagram", "Diagram") },
                "application/xml": { schema: { type: "string" } },
              },
            },
            ...errors(404),
          },
        },
        patch: {
          summary: "Rename, move (project_id, null = personal space), is_public, metadata, thumbnail",
          requestBody: json(PatchDiagramBody),
          responses: { "200": ok("Updated", wrap("diagram", "DiagramMeta")), ...errors(400, 401, 402, 404) },
        },
        delete: {
          summary: "Move to the trash, or purge with permanent=true",
          parameters: [permanent],
          responses: { "204": ok("Done"), ...errors(401, 404) },
        },
      },
      "/diagrams/{diagramId}/restore": {
        parameters: [uuid("diagramId")],
        post: {
          summary: "Restore from the trash",
          responses: { "200": ok("Restored", wrap("diagram", "DiagramMeta")), ...errors(401, 402, 404) },
        },
      },
      "/diagrams/{diagramId}/thumbnail": {
        parameters: [uuid("diagramId")],
        get: {
          summary: "The preview image",
          security: [{}, { bearer: [] }],
          responses: {
            "200": { description: "Image" },
            "302": { description: "Redirect to an external thumbnail" },
            ...errors(404),
          },
        },
      },
      "/diagrams/{diagramId}/content": {
        parameters: [uuid("diagramId")],
        put: {
          summary:
            "Save new XML on top of base_version: a new version; 409 STALE_VERSION (nothing stored) when someone saved first",
          requestBody: json(SaveContentBody),
          responses: { "200": ok("Saved", ref("SavedVersion")), ...errors(400, 401, 402, 403, 404, 409, 413, 422) },
        },
      },
      "/diagrams/{diagramId}/versions": {
        parameters: [uuid("diagramId")],
        get: {
          summary: "Version history, newest first (metadata only)",
          security: [{}, { bearer: [] }],
          parameters: pageParams,
          responses: { "200": ok("A page", page("VersionMeta")), ...errors(404) },
        },
      },
      "/diagrams/{diagramId}/versions/{version}": {
        parameters: [uuid("diagramId"), versionParam],
        get: {
          summary: "One version with its XML",
          security: [{}, { bearer: [] }],
          responses: { "200": ok("The version", wrap("version", "Version")), ...errors(404) },
        },
      },
      "/diagrams/{diagramId}/versions/{version}/restore": {
        parameters: [uuid("diagramId"), versionParam],
        post: {
          summary:
            'Restore an old version as a new version ("restored from vN"); optional base_version for optimistic concurrency',
          requestBody: { ...json(RestoreVersionBody), required: false },
          responses: { "200": ok("Restored", ref("SavedVersion")), ...errors(401, 402, 403, 404, 409) },
        },
      },
      "/diagrams/{diagramId}/diff": {
        parameters: [uuid("diagramId")],
        get: {
          summary: "Semantic diff between two versions (to defaults to the current version)",
          security: [{}, { bearer: [] }],
          parameters: [
            { name: "from", in: "query", required: true, schema: { type: "integer", minimum: 1 } },
            { name: "to", in: "query", schema: { type: "integer", minimum: 1 } },
          ],
          responses: { "200": ok("Changes", ref("Diff")), ...errors(400, 404, 422, 429, 503) },
        },
      },
      // Part 2 (objects/wiring.ts): exports, drafts, imports, attachments, project backups, objects, metrics.
      ...objectRoutePaths(helpers),
    },
  };
}
