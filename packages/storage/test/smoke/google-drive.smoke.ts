/**
 * Opt-in: the storage contract suite against Google Drive. `STOWAGE_SMOKE_GDRIVE_FOLDER=<folder id>`
 * with GOOGLE_APPLICATION_CREDENTIALS (a service account key file: the folder must be in a shared drive
 * where the account is a Manager, or set GOOGLE_DRIVE_IMPERSONATE), or GOOGLE_DRIVE_CLIENT_ID,
 * GOOGLE_DRIVE_CLIENT_SECRET and GOOGLE_DRIVE_REFRESH_TOKEN; run with `npm run test:smoke`. Files go under
 * a fresh `stowage-smoke-…/` folder and are deleted at the end (empty folders stay).
 */
import { generateKeyPairSync } from "node:crypto";
import { GoogleDriveDestination } from "../../src/providers/google-drive/provider.ts";
import { describeStorageContract } from "../contract/suite.ts";
import { closedPort, REAL_SERVICE, rawConfig, specFrom } from "./common.ts";
import { IsolatedDestination } from "./isolated-destination.ts";

describeStorageContract("google_drive (real service, STOWAGE_SMOKE_GDRIVE_FOLDER)", async () => {
  const config: Record<string, unknown> = {
    ...rawConfig(specFrom("STOWAGE_SMOKE_GDRIVE_FOLDER", (folder) => `gdrive://${encodeURIComponent(folder)}`)),
    chunkSizeBytes: 256 * 1024,
  };
  const destination = new IsolatedDestination(new GoogleDriveDestination(config));
  const serviceAccountKey = config.serviceAccountKey
    ? (JSON.parse(String(config.serviceAccountKey)) as { client_email: string })
    : undefined;
  return {
    destination,
    // Twelve 256 KiB resumable chunks and a bit.
    multipartBytes: 3 * 1024 * 1024 + 12_345,
    async withWrongCredentials() {
      if (serviceAccountKey) {
        // The right account with a key Google never issued: "Invalid JWT Signature".
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const forged = { ...serviceAccountKey, private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
        return new GoogleDriveDestination({ ...config, serviceAccountKey: forged });
      }
      const oauth = config.oauth as Record<string, string>;
      return new GoogleDriveDestination({ ...config, oauth: { ...oauth, refreshToken: "wrong-secret-value" } });
    },
    async withMissingContainer() {
      return new GoogleDriveDestination({ ...config, folderId: "1StowageSmokeNoSuchFolder0000000" });
    },
    async unreachable() {
      const port = await closedPort();
      return new GoogleDriveDestination({
        ...config,
        rootUrl: `http://127.0.0.1:${port}/`,
        tokenUrl: `http://127.0.0.1:${port}/token`,
      });
    },
    cannotTest: REAL_SERVICE,
    badConfigs: [
      { config: { ...config, chunkSizeBytes: 300_000 }, field: "chunkSizeBytes" },
      { config: { ...config, folderId: undefined }, field: "folderId" },
    ],
    async teardown() {
      await destination.purge();
    },
  };
});
