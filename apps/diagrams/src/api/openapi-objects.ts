/**
 * @module api/openapi-objects
 * The OpenAPI paths and schemas of part 2's routes (objects/wiring.ts mounts them): public and
 * signed object links, exports, drafts, imports, attachments, project backups and /metrics. Kept
 * next to openapi.ts, which merges them into GET /openapi.json with its own helpers, so bodies come
 * from the routes' zod schemas here too. test/objects/openapi.test.ts checks that every mounted
 * route is documented and every documented route is mounted.
 */
import type { ZodType } from "zod";
import { MAX_OBJECT_BYTES } from "../objects/store.ts";
import { MAX_FILES_PER_UPLOAD } from "./attachments.ts";
import { DraftBody } from "./drafts.ts";
import { CreateExportBody } from "./exports.ts";
import { MAX_IMPORT_FILES } from "./imports.ts";

/** The document builders of openapi.ts, passed in so both files describe routes the same way. */
export interface OpenApiHelpers {
  json(schema: ZodType): object;
  ref(name: string): object;
  ok(description: string, schema?: object): object;
  errors(...codes: number[]): object;
  uuid(name: string, where?: "path" | "query"): object;
}

const multipart = (description: string) => ({
  required: true,
  content: {
    "multipart/form-data": {
      schema: {
        type: "object",
        properties: { file: { type: "array", items: { type: "string", format: "binary" }, description } },
      },
    },
  },
});

const objectPathParam = {
  name: "path",
  in: "path",
  required: true,
  description: "the object's path in its bucket, slashes included (as in the URL the API handed out)",
  schema: { type: "string" },
};

export function objectRouteSchemas(h: OpenApiHelpers): Record<string, object> {
  return {
    ObjectLink: {
      type: "object",
      required: ["url"],
      properties: {
        url: { type: "string", description: "public URL, or a signed URL for a private object" },
        expiresAt: { type: "string", format: "date-time", description: "signed URLs only" },
      },
    },
    Export: {
      allOf: [
        h.ref("ObjectLink"),
        {
          type: "object",
          properties: { format: { type: "string", enum: ["png", "svg", "pdf", "xml"] }, size: { type: "integer" } },
        },
      ],
    },
    Attachment: {
      type: "object",
      properties: {
        id: { type: "string", format: "uuid" },
        project_id: { type: "string", format: "uuid" },
        name: { type: ["string", "null"] },
        size: { type: "integer" },
        content_type: { type: "string" },
        sha256: { type: "string" },
        created_by: { type: ["string", "null"], format: "uuid" },
        created_at: { type: "string", format: "date-time" },
        url: { type: "string", description: "GET …/attachments/{attachmentId} only: a signed URL" },
        expiresAt: { type: "string", format: "date-time" },
      },
    },
    ProjectBackup: {
      allOf: [
        h.ref("ObjectLink"),
        {
          type: "object",
          properties: {
            id: { type: "string", format: "uuid" },
            project_id: { type: "string", format: "uuid" },
            size: { type: "integer", description: "bytes of the gzip file" },
            sha256: { type: "string" },
            created_at: { type: "string", format: "date-time" },
            trigger: { type: "string", enum: ["manual", "daily", "after_changes"] },
            diagrams: { type: "integer" },
            versions: { type: "integer" },
            attachments: { type: "integer" },
          },
        },
      ],
    },
  };
}

export function objectRoutePaths(h: OpenApiHelpers): Record<string, object> {
  const { json, ref, ok, errors, uuid } = h;
  return {
    "/objects/public/{path}": {
      get: {
        summary: "An object of the public bucket (exports and thumbnails of public diagrams)",
        security: [],
        parameters: [objectPathParam],
        responses: {
          "200": { description: "the bytes; Cache-Control: exports 3600 s, thumbnails 86400 s" },
          ...errors(404),
        },
      },
    },
    "/objects/private/{path}": {
      get: {
        summary: "An object of the private bucket, through a signed URL only",
        security: [],
        parameters: [
          objectPathParam,
          { name: "exp", in: "query", required: true, description: "expiry, Unix seconds", schema: { type: "integer" } },
          {
            name: "sig",
            in: "query",
            required: true,
            description: "hex HMAC-SHA256 over path and expiry",
            schema: { type: "string" },
          },
        ],
        responses: {
          "200": { description: "the bytes" },
          "403": {
            description: "FORBIDDEN: the link expired or was tampered with",
            content: { "application/json": { schema: ref("Error") } },
          },
          ...errors(404),
        },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus text: cache hits/misses per namespace, renders, thumbnails, browser memory",
        security: [],
        responses: {
          "200": { description: "text/plain; version=0.0.4", content: { "text/plain": { schema: { type: "string" } } } },
        },
      },
    },
    "/diagrams/{diagramId}/exports": {
      post: {
        summary: "Export a version (default: the current one) as PNG, SVG, PDF or XML",
        description:
          "Formats are gated by plan (STORAGE_LIMITS; FREE: xml only → 402). Rendering needs Chromium: without it PNG/SVG/PDF answer 503 saying what to install.",
        parameters: [uuid("diagramId")],
        requestBody: json(CreateExportBody),
        responses: { "201": ok("The export's link", ref("Export")), ...errors(400, 401, 402, 404, 503) },
      },
      get: {
        summary: "The diagram's exports, newest first, with their links",
        security: [{}, { bearer: [] }],
        parameters: [uuid("diagramId")],
        responses: {
          "200": ok("Exports", { type: "object", properties: { exports: { type: "array", items: ref("Export") } } }),
          ...errors(404),
        },
      },
    },
    "/diagrams/{diagramId}/draft": {
      put: {
        summary: "Keep an unsaved draft of the caller (60 minutes in the cache); editors only",
        parameters: [uuid("diagramId")],
        requestBody: json(DraftBody),
        responses: {
          "200": ok("Kept", {
            type: "object",
            properties: { saved_at: { type: "string", format: "date-time" }, expires_in: { type: "integer" } },
          }),
          ...errors(400, 401, 404, 413),
        },
      },
      get: {
        summary: "The caller's draft of the diagram (404 when none or expired)",
        parameters: [uuid("diagramId")],
        responses: {
          "200": ok("The draft", {
            type: "object",
            properties: {
              draft: {
                type: "object",
                properties: {
                  bpmn_xml: { type: "string" },
                  base_version: { type: ["integer", "null"] },
                  saved_at: { type: "string", format: "date-time" },
                },
              },
            },
          }),
          ...errors(401, 404),
        },
      },
      delete: {
        summary: "Drop the caller's draft",
        parameters: [uuid("diagramId")],
        responses: { "204": { description: "Dropped (or there was none)" }, ...errors(401) },
      },
    },
    "/projects/{projectId}/imports": {
      post: {
        summary: `Import up to ${MAX_IMPORT_FILES} .bpmn files as diagrams of the project (owners and editors)`,
        description:
          "Each file is checked as a diagram upload is and either becomes a diagram (its file kept under imports/) or leaves nothing; one bad file does not stop the others. 201 when at least one was created, else 422; `results` lists each file's status in order.",
        parameters: [uuid("projectId")],
        requestBody: multipart(".bpmn files, each at most MAX_DIAGRAM_BYTES"),
        responses: {
          "201": ok("Per-file results", {
            type: "object",
            properties: {
              created: { type: "integer" },
              failed: { type: "integer" },
              results: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    file: { type: "string" },
                    status: { type: "integer" },
                    diagram: { type: "object" },
                    error: { type: "object" },
                  },
                },
              },
            },
          }),
          ...errors(401, 403, 404, 413, 422),
        },
      },
    },
    "/projects/{projectId}/attachments": {
      post: {
        summary: `Attach up to ${MAX_FILES_PER_UPLOAD} files to the project (owners and editors), all or nothing`,
        parameters: [uuid("projectId")],
        requestBody: multipart(`files of at most ${MAX_OBJECT_BYTES} bytes each`),
        responses: {
          "201": ok("Stored", {
            type: "object",
            properties: { attachments: { type: "array", items: ref("Attachment") } },
          }),
          ...errors(400, 401, 402, 403, 404, 413),
        },
      },
      get: {
        summary: "The project's attachments (viewers too)",
        security: [{}, { bearer: [] }],
        parameters: [uuid("projectId")],
        responses: {
          "200": ok("Attachments", { type: "object", properties: { attachments: { type: "array", items: ref("Attachment") } } }),
          ...errors(404),
        },
      },
    },
    "/projects/{projectId}/attachments/{attachmentId}": {
      get: {
        summary: "An attachment's record and a signed URL to its bytes",
        security: [{}, { bearer: [] }],
        parameters: [uuid("projectId"), uuid("attachmentId")],
        responses: {
          "200": ok("The attachment", { type: "object", properties: { attachment: ref("Attachment") } }),
          ...errors(404),
        },
      },
      delete: {
        summary: "Delete an attachment and its bytes (owners and editors)",
        parameters: [uuid("projectId"), uuid("attachmentId")],
        responses: { "204": { description: "Deleted" }, ...errors(401, 403, 404) },
      },
    },
    "/projects/{projectId}/backups": {
      post: {
        summary: "Back the project up now (owners): gzipped JSON in the private bucket; the last 30 are kept",
        parameters: [uuid("projectId")],
        responses: {
          "201": ok("The backup", { type: "object", properties: { backup: ref("ProjectBackup") } }),
          ...errors(401, 402, 403, 404),
        },
      },
      get: {
        summary: "The project's backups, newest first (owners)",
        parameters: [uuid("projectId")],
        responses: {
          "200": ok("Backups", { type: "object", properties: { backups: { type: "array", items: ref("ProjectBackup") } } }),
          ...errors(401, 403, 404),
        },
      },
    },
    "/projects/{projectId}/backups/{backupId}/restore": {
      post: {
        summary: "Restore a backup as a NEW project of the caller (owners), in one transaction",
        description:
          "Fresh ids; every diagram and version (authors, messages, timestamps) and the attachments are copied. A backup that fails its format, a checksum or BPMN validation creates nothing (422 INVALID_BACKUP); plan limits apply to the new project (402).",
        parameters: [uuid("projectId"), uuid("backupId")],
        responses: {
          "201": ok("The new project", {
            type: "object",
            properties: {
              project_id: { type: "string", format: "uuid" },
              diagrams: { type: "integer" },
              versions: { type: "integer" },
              attachments: { type: "integer" },
            },
          }),
          ...errors(401, 402, 403, 404, 422),
        },
      },
    },
  };
}
