/**
 * @module objects/paths
 * The seed's object paths, built in one place. Every id segment is a UUID checked here, so a path
 * can never climb out of its folder; file names are reduced to a safe set of characters.
 */
export type ObjectKind = "export" | "thumbnail" | "attachment" | "import" | "backup";
export type Bucket = "public" | "private";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function id(value: string, what: string): string {
  if (!UUID.test(value)) throw new Error(`${what} must be a UUID, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** Personal-space diagrams use `personal` for the project id (the seed's layout). */
const projectSegment = (projectId: string | null) => (projectId ? id(projectId, "projectId") : "personal");

/** A file name safe in any provider's keys: letters, digits, `.`, `-`, `_`; at most 100 characters. */
export function safeFileName(name: string): string {
  const cleaned = name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .slice(-100);
  return cleaned || "file";
}

/** A timestamp that stays unique when two objects land in the same millisecond. */
function stamp(): string {
  return `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

export const objectPaths = {
  export: (userId: string, projectId: string | null, diagramId: string, ext: string) =>
    `exports/${id(userId, "userId")}/${projectSegment(projectId)}/${id(diagramId, "diagramId")}/${stamp()}.${ext}`,
  thumbnail: (diagramId: string) => `thumbnails/${id(diagramId, "diagramId")}/preview.png`,
  projectFile: (userId: string, projectId: string | null, folder: "attachments" | "backups" | "imports", fileName: string) =>
    `projects/${id(userId, "userId")}/${projectSegment(projectId)}/${folder}/${stamp()}-${safeFileName(fileName)}`,
};

/** Cache-Control of public objects, as the seed: exports 1 hour, thumbnails 24 hours. */
export function publicCacheControl(objectPath: string): string {
  return objectPath.startsWith("thumbnails/") ? "public, max-age=86400" : "public, max-age=3600";
}

const TYPES: Record<string, string> = {
  png: "image/png",
  svg: "image/svg+xml",
  pdf: "application/pdf",
  xml: "application/xml",
  bpmn: "application/xml",
  json: "application/json",
  gz: "application/gzip",
};

export function contentTypeFor(objectPath: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(objectPath)?.[1]?.toLowerCase() ?? "";
  return TYPES[ext] ?? "application/octet-stream";
}
