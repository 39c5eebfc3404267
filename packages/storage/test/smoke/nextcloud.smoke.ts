/**
 * Opt-in: the storage contract suite against a real Nextcloud.
 * `STOWAGE_SMOKE_NEXTCLOUD_URL=nextcloud+https://USER@host/folder` with NEXTCLOUD_PASSWORD (an app
 * password); run with `npm run test:smoke`. Files go under a fresh `stowage-smoke-…/` folder and are
 * deleted at the end with purgeTrash on, so the run leaves nothing in the trash bin (empty folders stay).
 */
import { randomBytes } from "node:crypto";
import { NextcloudDestination } from "../../src/providers/nextcloud/provider.ts";
import { describeStorageContract } from "../contract/suite.ts";
import { closedPort, REAL_SERVICE, rawConfig, specFrom } from "./common.ts";
import { IsolatedDestination } from "./isolated-destination.ts";

const MiB = 1024 * 1024;

describeStorageContract("nextcloud (real service, STOWAGE_SMOKE_NEXTCLOUD_URL)", async () => {
  const config: Record<string, unknown> = {
    ...rawConfig(specFrom("STOWAGE_SMOKE_NEXTCLOUD_URL")),
    chunkSizeBytes: 5 * MiB,
    purgeTrash: true,
  };
  const destination = new IsolatedDestination(new NextcloudDestination(config));
  const fresh: NextcloudDestination[] = [];
  const base = String(config.basePath ?? "/").replace(/\/+$/, "");
  return {
    destination,
    // Three 5 MiB chunks: chunked upload v2 with its final MOVE.
    multipartBytes: 12 * MiB + 1,
    async withWrongCredentials() {
      return new NextcloudDestination({ ...config, password: "wrong-secret-value" });
    },
    async withMissingContainer() {
      return new NextcloudDestination({
        ...config,
        basePath: `${base}/stowage-smoke-missing-${randomBytes(6).toString("hex")}`,
        mustExist: true,
      });
    },
    async withMissingBaseFolder() {
      const d = new NextcloudDestination({ ...config, basePath: `${base}/${destination.prefix}new/levels` });
      fresh.push(d);
      return d;
    },
    async unreachable() {
      return new NextcloudDestination({ ...config, serverUrl: `http://127.0.0.1:${await closedPort()}` });
    },
    cannotTest: REAL_SERVICE,
    badConfigs: [
      { config: { ...config, serverUrl: "not a url" }, field: "serverUrl" },
      { config: { ...config, chunkSizeBytes: 1000 }, field: "chunkSizeBytes" },
    ],
    async teardown() {
      for (const d of fresh) {
        for (const o of await d.list("").catch(() => [])) await d.delete(o.key).catch(() => undefined);
        await d.close();
      }
      await destination.purge();
    },
  };
});
