/**
 * @module backup/destinations
 * Per-destination bookkeeping of one backup run: which destinations are still live, what each has
 * stored so far (the keys to delete if it fails later), how many bytes it read (for progress), and
 * its verdict. One destination failing never fails the others; a destination that failed keeps
 * nothing (its parts are deleted, best effort) and never receives a manifest, so nothing there
 * looks like a complete backup.
 */
import { Readable } from "node:stream";
import type { StorageDestination } from "@stowage/storage";
import type { BranchOutcome, FanOutTarget } from "../archive/fan-out.ts";
import type { BackupResult, DestinationResult } from "../backup.ts";
import { BackupError, storageFailure } from "../errors.ts";
import type { BackupManifest } from "../manifest.ts";
import type { Digest } from "./dump-part.ts";

interface DestinationState {
  readonly dest: StorageDestination;
  /** Keys stored on this destination in this run: deleted if it fails. */
  readonly keys: string[];
  error?: BackupError;
  /** Bytes of the parts already finished, and of the one being uploaded. */
  uploadedDone: number;
  uploadedCurrent: number;
}

/** The uploads of one part: a fan-out target per live destination, and how to record their outcomes. */
export interface PartUploads {
  readonly targets: readonly FanOutTarget[];
  /** Records each target's outcome; a destination that stored other bytes than were sent has failed. */
  settle(outcomes: readonly BranchOutcome[], stored: Digest): void;
}

export class BackupDestinations {
  private readonly states: DestinationState[];

  constructor(
    destinations: readonly StorageDestination[],
    private readonly backupId: string,
    private readonly secrets: readonly string[],
  ) {
    this.states = destinations.map((dest) => ({ dest, keys: [], uploadedDone: 0, uploadedCurrent: 0 }));
  }

  /** Preflight: a destination that cannot be written is reported now and never slows the dump. */
  async checkConnections(): Promise<void> {
    await Promise.all(
      this.states.map(async (s) => {
        const check = await s.dest.validateConnection();
        if (!check.ok) {
          s.error = new BackupError("STORAGE", withName(s.dest.name, check.error ?? "not reachable"), {
            secrets: this.secrets,
          });
        }
      }),
    );
  }

  /** True while at least one destination has not failed. */
  get anyLive(): boolean {
    return this.states.some((s) => !s.error);
  }

  /** Bytes each destination has read so far, in the order given (for progress reports). */
  uploaded(): Array<{ destination: string; bytes: number; failed: boolean }> {
    return this.states.map((s) => ({ destination: s.dest.name, bytes: s.uploadedDone + s.uploadedCurrent, failed: !!s.error }));
  }

  /** Starts the bookkeeping of one part stored at `key` on every destination still live. */
  partUploads(key: string, contentType: string, signal?: AbortSignal): PartUploads {
    const active = this.states.filter((s) => !s.error);
    const targets = active.map(
      (s): FanOutTarget => ({
        name: s.dest.name,
        start: (stream) => {
          s.uploadedCurrent = 0;
          return s.dest.upload(stream, key, {
            signal,
            contentType,
            onProgress: (n) => {
              s.uploadedCurrent = n;
            },
          });
        },
      }),
    );
    const settle = (outcomes: readonly BranchOutcome[], stored: Digest) => {
      active.forEach((s, i) => {
        const outcome = outcomes[i]!;
        s.uploadedDone += s.uploadedCurrent;
        s.uploadedCurrent = 0;
        if (!outcome.ok) {
          s.error = storageFailure(outcome.error, `upload of ${key} to ${s.dest.name}`, this.secrets);
          return;
        }
        // Stored, so it must be deleted if this destination fails; and a wrong copy is a failure.
        s.keys.push(key);
        if (outcome.result.sha256 !== stored.sha256 || outcome.result.size !== stored.bytes) {
          s.error = new BackupError(
            "STORAGE",
            `${s.dest.name}: ${key} was stored with a different size or checksum than was sent`,
          );
        }
      });
    };
    return { targets, settle };
  }

  /** Uploads a small file (the manifest) to every live destination; a failure fails that destination. */
  async putEverywhere(key: string, body: string, contentType: string, signal?: AbortSignal): Promise<void> {
    await Promise.all(
      this.states
        .filter((s) => !s.error)
        .map(async (s) => {
          try {
            await s.dest.upload(Readable.from([Buffer.from(body)]), key, {
              signal,
              contentType,
              size: Buffer.byteLength(body),
            });
          } catch (error) {
            s.error = storageFailure(error, `upload of ${key} to ${s.dest.name}`, this.secrets);
          }
        }),
    );
  }

  /** The source failed: every destination that had not failed yet fails with it. */
  failAll(error: BackupError): void {
    for (const s of this.states) s.error ??= error;
  }

  /** Deletes what failed destinations already received, so nothing there looks like a backup. */
  async cleanup(): Promise<void> {
    await Promise.all(
      this.states
        .filter((s) => s.error && s.keys.length > 0)
        .map(async (s) => {
          for (const key of s.keys.splice(0)) await s.dest.delete(key).catch(() => {});
        }),
    );
  }

  /** One result per destination, in the order given; `manifest` is what the live ones received. */
  results(manifest: BackupManifest | undefined): BackupResult {
    const backupId = this.backupId;
    const destinations = this.states.map((s): DestinationResult => {
      if (s.error) return { destination: s.dest.name, ok: false, backupId, error: s.error };
      if (!manifest) throw new Error("BackupDestinations.results: a live destination without a manifest");
      return { destination: s.dest.name, ok: true, backupId, manifest };
    });
    return { backupId, destinations, ok: destinations.every((d) => d.ok) };
  }
}

/** Prefixes a message with the destination's name unless the provider already did. */
function withName(name: string, message: string): string {
  return message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
}
