/**
 * @module providers/browser-download/token-index
 * The download tokens of one staging folder, kept in a small JSON file beside the staged objects.
 * Only the SHA-256 of a token is ever written down: whoever reads the staging folder cannot
 * turn what they find into a working download link. The file is replaced atomically
 * (temp file, fsync, rename), and it is re-read before every change so that
 * a web server and a backup job in another process both see the current set of tokens; changes
 * are serialised across processes by a lock file.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { StorageError } from "../../errors.ts";

/** 32 random bytes: 256 bits, as the spec asks. */
export const TOKEN_BYTES = 32;

/** How long a change waits for another process's lock before giving up with CONFLICT. */
const LOCK_WAIT_MS = 10_000;
/** A lock this old was left by a process that died; changes take milliseconds. */
const STALE_LOCK_MS = 30_000;

const tokenEntrySchema = z.object({
  /** Hex SHA-256 of the raw token. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  key: z.string().min(1),
  /** Milliseconds since the epoch. */
  createdAt: z.number().int(),
  expiresAt: z.number().int(),
  /** Set while a download of this link is under way (milliseconds since the epoch): one download per link. */
  claimedAt: z.number().int().optional(),
});
const tokenIndexFileSchema = z.object({ version: z.literal(1), tokens: z.array(tokenEntrySchema) });

export type TokenEntry = z.infer<typeof tokenEntrySchema>;

/** A fresh 256-bit token, base64url (43 characters, safe in a URL path). */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString("base64url");
}

/** Hex SHA-256 of a raw token: what the index stores and looks up. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

type Mutation<T> = (entries: TokenEntry[]) => { entries: TokenEntry[]; result: T };

interface Pending {
  mutate: Mutation<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class TokenIndex {
  private queue: Pending[] = [];
  private flushing = false;

  /**
   * @param path the JSON file (`<staging>/tokens.json`)
   * @param destination display name used in error messages
   */
  constructor(
    readonly path: string,
    private readonly destination: string,
  ) {}

  /** Every entry on disk; an index that does not exist yet is empty. */
  async read(): Promise<TokenEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new StorageError("UNKNOWN", this.destination, `cannot read the download token index: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.damaged(error);
    }
    const result = tokenIndexFileSchema.safeParse(parsed);
    if (!result.success) throw this.damaged(result.error);
    return result.data.tokens;
  }

  /**
   * Finds the entry for a raw token. Every stored hash is compared with `timingSafeEqual` and the
   * loop never stops early, so the time taken does not depend on how much of a guess matched.
   */
  async find(token: string): Promise<TokenEntry | undefined> {
    const wanted = Buffer.from(hashToken(token), "hex");
    let found: TokenEntry | undefined;
    for (const entry of await this.read()) {
      const matches = timingSafeEqual(Buffer.from(entry.hash, "hex"), wanted);
      if (matches && found === undefined) found = entry;
    }
    return found;
  }

  /**
   * Applies `mutate` to the current entries and writes the result. Changes requested while a write
   * is in flight are applied together in the next write (group commit), so parallel uploads do not
   * each pay for a full rewrite and fsync.
   */
  update<T>(mutate: Mutation<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ mutate: mutate as Mutation<unknown>, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
        try {
          await this.withFileLock(async () => {
            const before = await this.read();
            let entries = before;
            for (const pending of batch) {
              try {
                const out = pending.mutate(entries);
                entries = out.entries;
                outcomes.push({ ok: true, value: out.result });
              } catch (error) {
                outcomes.push({ ok: false, error });
              }
            }
            if (entries !== before) await this.write(entries);
          });
        } catch (error) {
          for (const pending of batch) pending.reject(error);
          continue;
        }
        batch.forEach((pending, i) => {
          const outcome = outcomes[i];
          if (outcome?.ok) pending.resolve(outcome.value);
          else pending.reject(outcome?.error);
        });
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Runs a read-modify-write under `<index>.lock` (created with O_EXCL), so that a backup job and a
   * web server in different processes never lose each other's changes. A lock older than
   * `STALE_LOCK_MS` belongs to a process that died mid-change and is broken.
   */
  private async withFileLock<T>(run: () => Promise<T>): Promise<T> {
    const lockPath = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await open(lockPath, "wx", 0o600)).close();
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EEXIST") throw this.writeError(error);
        const held = await stat(lockPath).catch(() => undefined);
        if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
          await rm(lockPath, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new StorageError(
            "CONFLICT",
            this.destination,
            `the download token index is locked by another process; if no Stowage process is running, delete ${lockPath}`,
          );
        }
        await sleep(5 + Math.random() * 20);
      }
    }
    try {
      return await run();
    } finally {
      await rm(lockPath, { force: true });
    }
  }

  private async write(entries: TokenEntry[]): Promise<void> {
    const temp = `${this.path}.${randomBytes(6).toString("hex")}.tmp`;
    const body = `${JSON.stringify({ version: 1, tokens: entries })}\n`;
    try {
      const handle = await open(temp, "wx", 0o600);
      try {
        await handle.writeFile(body, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The file is fsynced so the rename can only ever expose a complete index. The folder is not:
      // a crash may bring back the previous index, which is consistent, and costs at most the
      // newest links (their objects are then swept as orphans after the TTL). Skipping that
      // second fsync halves the cost of every change.
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw this.writeError(error);
    }
  }

  /** Maps a file-system error met while changing the index to a StorageError. */
  private writeError(error: unknown): StorageError {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return new StorageError(
        "NOT_FOUND",
        this.destination,
        "the staging folder does not exist (create it, or mount the volume)",
        {
          cause: error,
        },
      );
    }
    const why =
      code === "ENOSPC"
        ? "the disk is full"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (error as Error).message;
    return new StorageError(
      code === "ENOSPC" ? "QUOTA_EXCEEDED" : "UNKNOWN",
      this.destination,
      `cannot write the download token index: ${why}`,
      {
        cause: error,
      },
    );
  }

  private damaged(cause: unknown): StorageError {
    return new StorageError(
      "UNKNOWN",
      this.destination,
      `the download token index ${this.path} is damaged; delete it (links already issued will stop working) and run the backup again`,
      { cause },
    );
  }
}
