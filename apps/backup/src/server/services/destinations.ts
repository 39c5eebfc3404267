/**
 * @module server/services/destinations
 * The seed's `StorageDestinationService`: configs are validated by the provider's own schema and
 * its connection is tested before anything is saved; configs are stored encrypted; answers carry
 * secret fields only as `{ "set": true }`, and a PATCH that leaves a secret out keeps it.
 */
import { randomUUID } from "node:crypto";
import { createDestination, type StorageDestination, StorageError } from "@stowage/storage";
import type { AuditLog } from "../audit.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { DestinationRecord, DestinationType, MetadataStore } from "../db/store.ts";
import { ApiError, notFound } from "../errors.ts";

export const DESTINATION_TYPES = ["s3", "google_drive", "nextcloud", "local_mapped"] as const;

/** Config fields that are secrets, per type: never answered, kept when a PATCH omits them. */
export const SECRET_FIELDS: Record<DestinationType, readonly string[]> = {
  s3: ["secretAccessKey", "sessionToken"],
  nextcloud: ["password"],
  google_drive: ["serviceAccountKey", "oauth"],
  local_mapped: [],
};

type Config = Record<string, unknown>;

export interface DestinationView {
  id: string;
  name: string;
  type: DestinationType;
  /** Display location, safe to show: `s3://bucket/prefix`, `file:///backups`. */
  location: string | null;
  config: Config;
  enabled: boolean;
  isDefault: boolean;
  lastValidated: string | null;
  validationStatus: "valid" | "invalid" | "pending" | null;
  validationError: string | null;
  availableSpace: number | null;
  totalBackups: number;
  totalSize: number;
  createdAt: string;
  updatedAt: string;
}

export interface TestResult {
  valid: boolean;
  error?: string;
  availableSpace: number | null;
  lastTested: string;
}

const aad = (id: string) => `destination:${id}:config`;

function isSetMarker(value: unknown): boolean {
  return !!value && typeof value === "object" && (value as { set?: unknown }).set === true && Object.keys(value).length === 1;
}

/** Turns a provider error into a 422 naming the field (`INVALID_CONFIG`). */
function configError(error: unknown): ApiError {
  if (StorageError.is(error, "INVALID_CONFIG")) {
    const message = error.message.replace(/^[^:]*: invalid configuration: /, "");
    const field = /^([A-Za-z0-9_.]+):/.exec(message)?.[1];
    return new ApiError("INVALID_CONFIG", `config.${message}`, field ? `config.${field}` : "config");
  }
  return new ApiError("INVALID_CONFIG", `config: ${(error as Error).message}`, "config");
}

export class DestinationService {
  constructor(
    private readonly store: MetadataStore,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
  ) {}

  decryptConfig(record: DestinationRecord): Config {
    return this.box.decryptJson<Config>(record.config, aad(record.id));
  }

  /** A configured provider for this row (the caller closes it). */
  async open(record: DestinationRecord): Promise<StorageDestination> {
    return createDestination({ type: record.type, config: this.decryptConfig(record) });
  }

  view(record: DestinationRecord, location?: string | null): DestinationView {
    const config = this.decryptConfig(record);
    const masked: Config = { ...config };
    for (const field of SECRET_FIELDS[record.type]) {
      if (masked[field] !== undefined && masked[field] !== "") masked[field] = { set: true };
      else delete masked[field];
    }
    return {
      id: record.id,
      name: record.name,
      type: record.type,
      location: location ?? null,
      config: masked,
      enabled: record.enabled,
      isDefault: record.isDefault,
      lastValidated: record.lastValidated?.toISOString() ?? null,
      validationStatus: record.validationStatus,
      validationError: record.validationError,
      availableSpace: record.availableSpace,
      totalBackups: record.totalBackups,
      totalSize: record.totalSize,
      createdAt: record.createdAt.toISOString(),
      updatedAt: record.updatedAt.toISOString(),
    };
  }

  async viewWithLocation(record: DestinationRecord): Promise<DestinationView> {
    let location: string | null = null;
    try {
      const dest = await this.open(record);
      location = dest.name;
      await dest.close();
    } catch {
      location = null;
    }
    return this.view(record, location);
  }

  async get(id: string): Promise<DestinationRecord> {
    const record = await this.store.destinations.byId(id);
    if (!record) throw notFound("storage destination");
    return record;
  }

  /** Validates the config with the provider's schema and its connection; throws 422 otherwise. */
  private async check(type: DestinationType, config: Config): Promise<{ space: number | null; location: string }> {
    let dest: StorageDestination;
    try {
      dest = await createDestination({ type, config });
    } catch (error) {
      throw configError(error);
    }
    try {
      const result = await dest.validateConnection();
      if (!result.ok) throw new ApiError("CONNECTION_FAILED", result.error ?? `${dest.name}: not reachable`, "config");
      const space = await dest.getAvailableSpace().catch(() => null);
      return { space, location: dest.name };
    } finally {
      await dest.close().catch(() => {});
    }
  }

  async create(
    input: { name: string; type: DestinationType; config: Config; enabled?: boolean; isDefault?: boolean },
    actor: Parameters<AuditLog["record"]>[0],
  ): Promise<DestinationView> {
    if (await this.store.destinations.byName(input.name)) {
      throw new ApiError("CONFLICT", `a storage destination named "${input.name}" already exists`, "name");
    }
    const config = Object.fromEntries(Object.entries(input.config).filter(([, v]) => !isSetMarker(v)));
    const { space, location } = await this.check(input.type, config);
    const now = new Date();
    const id = randomUUID();
    const record: DestinationRecord = {
      id,
      name: input.name,
      type: input.type,
      config: this.box.encryptJson(config, aad(id)),
      enabled: input.enabled ?? true,
      isDefault: false,
      lastValidated: now,
      validationStatus: "valid",
      validationError: null,
      availableSpace: space,
      totalBackups: 0,
      totalSize: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.destinations.create(record);
    if (input.isDefault || !(await this.store.destinations.defaultDestination())) await this.makeDefault(id);
    await this.audit.record(actor, "destination_created", { type: "destination", id }, { name: input.name, type: input.type });
    return this.view((await this.store.destinations.byId(id))!, location);
  }

  private async makeDefault(id: string): Promise<void> {
    const current = await this.store.destinations.defaultDestination();
    if (current && current.id !== id) await this.store.destinations.update(current.id, { isDefault: false });
    await this.store.destinations.update(id, { isDefault: true });
  }

  async update(
    id: string,
    patch: { name?: string; config?: Config; enabled?: boolean; isDefault?: boolean },
    actor: Parameters<AuditLog["record"]>[0],
  ): Promise<DestinationView> {
    const record = await this.get(id);
    if (patch.name && patch.name !== record.name && (await this.store.destinations.byName(patch.name))) {
      throw new ApiError("CONFLICT", `a storage destination named "${patch.name}" already exists`, "name");
    }
    const now = new Date();
    const changes: Partial<DestinationRecord> = { updatedAt: now };
    let location: string | undefined;
    if (patch.config) {
      const current = this.decryptConfig(record);
      const next: Config = { ...current };
      for (const [key, value] of Object.entries(patch.config)) {
        if (isSetMarker(value)) continue; // `{ set: true }` as answered: keep the stored secret
        if (value === null) delete next[key];
        else next[key] = value;
      }
      for (const field of SECRET_FIELDS[record.type]) {
        if (!(field in patch.config) && current[field] !== undefined) next[field] = current[field];
      }
      const checked = await this.check(record.type, next);
      location = checked.location;
      Object.assign(changes, {
        config: this.box.encryptJson(next, aad(id)),
        lastValidated: now,
        validationStatus: "valid" as const,
        validationError: null,
        availableSpace: checked.space,
      });
    }
    if (patch.name) changes.name = patch.name;
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    await this.store.destinations.update(id, changes);
    if (patch.isDefault) await this.makeDefault(id);
    await this.audit.record(
      actor,
      "destination_changed",
      { type: "destination", id },
      {
        name: patch.name ?? record.name,
        configChanged: !!patch.config,
      },
    );
    const updated = (await this.store.destinations.byId(id))!;
    return location ? this.view(updated, location) : this.viewWithLocation(updated);
  }

  async delete(id: string, actor: Parameters<AuditLog["record"]>[0]): Promise<void> {
    const record = await this.get(id);
    await this.store.destinations.delete(id);
    await this.audit.record(actor, "destination_deleted", { type: "destination", id }, { name: record.name, type: record.type });
  }

  /** The seed's testConnection: updates the validation columns and answers `{ valid, error?, availableSpace, lastTested }`. */
  async test(id: string): Promise<TestResult> {
    const record = await this.get(id);
    const now = new Date();
    let result: TestResult;
    try {
      const dest = await this.open(record);
      try {
        const check = await dest.validateConnection();
        const space = check.ok ? await dest.getAvailableSpace().catch(() => null) : null;
        result = {
          valid: check.ok,
          ...(check.ok ? {} : { error: check.error ?? "not reachable" }),
          availableSpace: space,
          lastTested: now.toISOString(),
        };
      } finally {
        await dest.close().catch(() => {});
      }
    } catch (error) {
      result = { valid: false, error: (error as Error).message, availableSpace: null, lastTested: now.toISOString() };
    }
    await this.store.destinations.update(id, {
      lastValidated: now,
      validationStatus: result.valid ? "valid" : "invalid",
      validationError: result.error ?? null,
      ...(result.availableSpace !== null ? { availableSpace: result.availableSpace } : {}),
    });
    return result;
  }

  /**
   * The default destination from the seed's variables (`DEFAULT_STORAGE_TYPE`, `LOCAL_STORAGE_PATH`, `S3_*`, …),
   * created once on first start when no destination exists. Not connection-tested (a bucket may come
   * later); its status stays `pending` until the first test.
   */
  async ensureDefault(spec: { type: string; config: unknown }): Promise<DestinationRecord | undefined> {
    if ((await this.store.destinations.list()).length > 0) return undefined;
    if (!(DESTINATION_TYPES as readonly string[]).includes(spec.type)) return undefined;
    const type = spec.type as DestinationType;
    try {
      await createDestination({ type, config: spec.config });
    } catch (error) {
      throw configError(error);
    }
    const now = new Date();
    const id = randomUUID();
    const record: DestinationRecord = {
      id,
      name: "Default",
      type,
      config: this.box.encryptJson(spec.config, aad(id)),
      enabled: true,
      isDefault: true,
      lastValidated: null,
      validationStatus: "pending",
      validationError: null,
      availableSpace: null,
      totalBackups: 0,
      totalSize: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.destinations.create(record);
    await this.audit.record(
      {},
      "destination_created",
      { type: "destination", id },
      { name: record.name, type, source: "environment" },
    );
    return record;
  }
}
