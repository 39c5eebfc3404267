/** @module providers/google-drive/config */
import { createPrivateKey } from "node:crypto";
import { z } from "zod";

/** A key that cannot sign would only fail later, as a confusing auth error: refuse it here (without echoing it). */
const isPrivateKey = (pem: string) => {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
};

const serviceAccountKeySchema = z.object({
  type: z.literal("service_account").optional(),
  client_email: z.string().min(1),
  private_key: z.string().min(1).refine(isPrivateKey, "is not a PEM private key (copy private_key from the key JSON)"),
  private_key_id: z.string().optional(),
  token_uri: z.string().optional(),
});

export const googleDriveConfigSchema = z
  .object({
    /**
     * The folder that holds backups: in a shared drive where the service account is a member (Content
     * manager to upload, Manager to delete), in the impersonated user's Drive, or in the OAuth user's Drive.
     */
    folderId: z.string().min(1),
    /** Service account key: the parsed JSON object, or its JSON text. */
    serviceAccountKey: z
      .union([
        serviceAccountKeySchema,
        z.string().transform((text, ctx) => {
          try {
            return serviceAccountKeySchema.parse(JSON.parse(text));
          } catch {
            ctx.addIssue({ code: "custom", message: "is not a service account key JSON (client_email, private_key)" });
            return z.NEVER;
          }
        }),
      ])
      .optional(),
    /**
     * Google Workspace domain-wide delegation: the service account acts as this user (their e-mail),
     * whose Drive and quota it then uses. Env GOOGLE_DRIVE_IMPERSONATE.
     */
    subject: z.email().optional(),
    /** OAuth client and refresh token, for personal Drives. */
    oauth: z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1), refreshToken: z.string().min(1) }).optional(),
    /** Search shared drives too (`supportsAllDrives`). */
    supportsAllDrives: z.boolean().default(true),
    /** Resumable upload chunk size; a multiple of 256 KiB. */
    chunkSizeBytes: z
      .number()
      .int()
      .min(256 * 1024)
      .refine((n) => n % (256 * 1024) === 0, "must be a multiple of 256 KiB (262144 bytes)")
      .default(8 * 1024 * 1024),
    /** API root; point it at an emulator in tests. */
    rootUrl: z.url().default("https://www.googleapis.com/"),
    /** OAuth token endpoint; point it at an emulator in tests. */
    tokenUrl: z.url().default("https://oauth2.googleapis.com/token"),
    maxRetries: z.number().int().min(0).max(10).default(5),
  })
  .refine((c) => (c.serviceAccountKey ? 1 : 0) + (c.oauth ? 1 : 0) === 1, {
    message: "give exactly one of serviceAccountKey or oauth",
    path: ["serviceAccountKey"],
  });
export type GoogleDriveConfig = z.infer<typeof googleDriveConfigSchema>;

export const googleDriveDisplayName = (c: Pick<GoogleDriveConfig, "folderId">) => `gdrive://${c.folderId}`;
