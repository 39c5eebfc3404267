/**
 * @module pitr/replication
 * A logical replication connection (`replication=database`) through `pg`: create a slot with an
 * exported snapshot, START_REPLICATION with pgoutput, read XLogData and keepalives, and send standby
 * status updates. pg-logical-replication's service acknowledges every message as it arrives (and
 * one past it); the archive must confirm only what every destination has stored, so the status
 * messages are ours and the flush position is exactly the caller's.
 */
import type pg from "pg";
import { type DatabaseTarget, secretsOf } from "../pg/connection.ts";
import { classifyConnectionError } from "../pg/snapshot.ts";
import { connectSource } from "./connect.ts";
import { formatLsn, type Lsn, parseLsn } from "./lsn.ts";

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export interface XLogData {
  readonly walStart: Lsn;
  readonly payload: Buffer;
}
export interface Keepalive {
  readonly walEnd: Lsn;
  readonly replyRequested: boolean;
}

interface Connection {
  stream: { pause(): void; resume(): void };
  on(event: "copyData", listener: (msg: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
}

export class ReplicationConnection {
  private constructor(
    private readonly client: pg.Client,
    readonly target: DatabaseTarget,
  ) {}

  static async open(target: DatabaseTarget, applicationName = "stowage stream"): Promise<ReplicationConnection> {
    const client = await connectSource(target, applicationName, { replication: true });
    return new ReplicationConnection(client, target);
  }

  private get connection(): Connection {
    return (this.client as unknown as { connection: Connection }).connection;
  }

  /**
   * Creates a logical slot for pgoutput and exports its snapshot: it stays valid until the next
   * command on this connection, which is how the base backup sees exactly the slot's starting point.
   */
  async createSlot(
    slot: string,
    options: { temporary?: boolean; serverVersionNum: number },
  ): Promise<{ lsn: Lsn; snapshot: string }> {
    const temporary = options.temporary ? " TEMPORARY" : "";
    const sql =
      options.serverVersionNum >= 150000
        ? `CREATE_REPLICATION_SLOT "${slot}"${temporary} LOGICAL pgoutput (SNAPSHOT 'export')`
        : `CREATE_REPLICATION_SLOT "${slot}"${temporary} LOGICAL pgoutput EXPORT_SNAPSHOT`;
    const { rows } = await this.client.query<{ consistent_point: string; snapshot_name: string }>(sql);
    return { lsn: parseLsn(rows[0]!.consistent_point), snapshot: rows[0]!.snapshot_name };
  }

  /**
   * Streams from `startLsn` (the server starts at the slot's confirmed position if that is later).
   * `onData`/`onKeepalive` are called in order; the returned promise settles when the stream ends.
   */
  start(
    slot: string,
    publication: string,
    startLsn: Lsn,
    handlers: { onData(data: XLogData): void; onKeepalive(k: Keepalive): void },
    options: { messages: boolean },
  ): Promise<void> {
    this.connection.on("copyData", ({ chunk }) => {
      if (chunk[0] === 0x77) {
        // A copy: pg's parser reuses its buffer, and the caller decodes later, from a queue.
        handlers.onData({ walStart: chunk.readBigUInt64BE(1), payload: Buffer.from(chunk.subarray(25)) });
      } else if (chunk[0] === 0x6b) {
        handlers.onKeepalive({ walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 });
      }
    });
    const opts = [`proto_version '1'`, `publication_names '${publication}'`];
    if (options.messages) opts.push(`messages 'true'`);
    const sql = `START_REPLICATION SLOT "${slot}" LOGICAL ${formatLsn(startLsn)} (${opts.join(", ")})`;
    return this.client.query(sql).then(
      () => undefined,
      (error: unknown) => {
        throw classifyConnectionError(error, this.target);
      },
    );
  }

  /** Standby status update: `flushed` becomes the slot's confirmed position. */
  sendStatus(received: Lsn, flushed: Lsn, replyRequested = false): void {
    const message = Buffer.alloc(34);
    message[0] = 0x72; // 'r'
    message.writeBigUInt64BE(received, 1);
    message.writeBigUInt64BE(flushed, 9);
    message.writeBigUInt64BE(flushed, 17);
    message.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_MICROS, 25);
    message[33] = replyRequested ? 1 : 0;
    this.connection.sendCopyFromChunk(message);
  }

  pause(): void {
    this.connection.stream.pause();
  }
  resume(): void {
    this.connection.stream.resume();
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }

  get secrets(): string[] {
    return secretsOf(this.target);
  }
}
