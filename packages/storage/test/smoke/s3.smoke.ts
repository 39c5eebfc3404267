/**
 * Opt-in: the storage contract suite against a real S3-compatible service (AWS S3, Cloudflare R2,
 * MinIO…). `STOWAGE_SMOKE_S3_URL=s3://bucket/prefix?endpoint=…&region=…` with S3_ACCESS_KEY_ID and
 * S3_SECRET_ACCESS_KEY; run with `npm run test:smoke`. Everything goes under a fresh
 * `stowage-smoke-…/` prefix, deleted at the end. An Object Lock bucket works too (every upload carries
 * a Content-MD5), but with a retention period the deletes at the end leave locked versions behind.
 */
import { randomBytes } from "node:crypto";
import { S3Destination } from "../../src/providers/s3/provider.ts";
import { describeStorageContract } from "../contract/suite.ts";
import { closedPort, REAL_SERVICE, rawConfig, specFrom } from "./common.ts";
import { IsolatedDestination } from "./isolated-destination.ts";

const MiB = 1024 * 1024;

describeStorageContract("s3 (real service, STOWAGE_SMOKE_S3_URL)", async () => {
  const config: Record<string, unknown> = { ...rawConfig(specFrom("STOWAGE_SMOKE_S3_URL")), partSizeBytes: 5 * MiB };
  const destination = new IsolatedDestination(new S3Destination(config));
  return {
    destination,
    // Three 5 MiB parts: a real multipart upload.
    multipartBytes: 12 * MiB + 1,
    async withWrongCredentials() {
      return new S3Destination({ ...config, secretAccessKey: "wrong-secret-value" });
    },
    async withMissingContainer() {
      return new S3Destination({ ...config, bucket: `stowage-smoke-missing-${randomBytes(6).toString("hex")}` });
    },
    async unreachable() {
      return new S3Destination({ ...config, endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true });
    },
    cannotTest: REAL_SERVICE,
    badConfigs: [
      { config: { ...config, bucket: undefined }, field: "bucket" },
      { config: { ...config, partSizeBytes: 4 * MiB }, field: "partSizeBytes" },
    ],
    async teardown() {
      await destination.purge();
    },
  };
});
