/**
 * @module providers/google-drive/auth
 * Builds the authorised HTTP client Drive calls go through: a service account (JWT bearer grant)
 * or an OAuth client with a refresh token. Both exchange credentials at the configured `tokenUrl`,
 * so the same code talks to Google and to the test emulator.
 */
import { JWT, OAuth2Client } from "google-auth-library";
import type { GoogleDriveConfig } from "./config.ts";

/** The only scope Stowage needs: files in folders shared with the identity. */
export const DRIVE_SCOPE = "https://www.googleapis.com/auth/drive";

/** google-auth-library's JWT client (through its bundled gtoken) always posts to this URL. */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** Token exchanges must fail fast when the endpoint is down; the API calls set their own timeouts. */
const TOKEN_TIMEOUT_MS = 10_000;

export interface DriveAuth {
  readonly client: JWT | OAuth2Client;
  /** The service account's e-mail, when the identity is a service account. */
  readonly serviceAccountEmail: string | undefined;
  /** Values that must never appear in a message (private key, refresh token, client secret, access token). */
  secrets(): string[];
}

export function createDriveAuth(config: GoogleDriveConfig): DriveAuth {
  const tokenUrl = config.tokenUrl;
  if (config.serviceAccountKey) {
    const key = config.serviceAccountKey;
    const client = new JWT({
      email: key.client_email,
      key: key.private_key,
      keyId: key.private_key_id,
      scopes: [DRIVE_SCOPE],
      // Domain-wide delegation: act as this Workspace user (their Drive, their quota).
      ...(config.subject ? { subject: config.subject } : {}),
      // The JWT's audience must be the endpoint that receives it (Google checks it against its own URL).
      additionalClaims: { aud: tokenUrl },
      transporterOptions: { timeout: TOKEN_TIMEOUT_MS },
    });
    // gtoken inside google-auth-library 10 hard-codes Google's token URL and ignores the key's
    // `token_uri`; its request goes through this client's transporter, so point it at `tokenUrl` here.
    client.transporter.interceptors.request.add({
      resolved: async (request) => {
        if (String(request.url) === GOOGLE_TOKEN_URL) {
          request.url = new URL(tokenUrl);
          // Our own retry layer decides what is worth retrying.
          request.retry = false;
          request.retryConfig = { ...request.retryConfig, retry: 0, noResponseRetries: 0 };
        }
        return request;
      },
    });
    return {
      client,
      serviceAccountEmail: key.client_email,
      secrets: () => [key.private_key, client.credentials.access_token ?? undefined].filter(isString),
    };
  }
  if (config.oauth) {
    const oauth = config.oauth;
    const client = new OAuth2Client({
      clientId: oauth.clientId,
      clientSecret: oauth.clientSecret,
      endpoints: { oauth2TokenUrl: tokenUrl },
      transporterOptions: { timeout: TOKEN_TIMEOUT_MS },
    });
    client.transporter.interceptors.request.add({
      resolved: async (request) => {
        if (String(request.url) === tokenUrl) {
          request.retry = false;
          request.retryConfig = { ...request.retryConfig, retry: 0, noResponseRetries: 0 };
        }
        return request;
      },
    });
    client.setCredentials({ refresh_token: oauth.refreshToken });
    return {
      client,
      serviceAccountEmail: undefined,
      secrets: () => [oauth.refreshToken, oauth.clientSecret, client.credentials.access_token ?? undefined].filter(isString),
    };
  }
  // The config schema guarantees exactly one of the two.
  throw new Error("google_drive: neither serviceAccountKey nor oauth is configured");
}

const isString = (v: string | undefined | null): v is string => typeof v === "string" && v.length > 0;
