/**
 * @module pitr/source
 * What the streamer asks the source database on an ordinary connection: is logical decoding on,
 * the publication, tables that would break under it, the slots of a name and their lag, the
 * heartbeat, column shapes (to notice DDL) and sequence values (decoding does not carry them).
 */
import type pg from "pg";
import { BackupError } from "../errors.ts";
import type { DatabaseTarget } from "../pg/connection.ts";
import { classifyConnectionError } from "../pg/snapshot.ts";
import { connectSource } from "./connect.ts";
import { type Lsn, parseLsn } from "./lsn.ts";

export interface RelationShape {
  readonly schema: string;
  readonly name: string;
  /** `[column name, type oid]` in column order (dropped and generated columns left out, as pgoutput does). */
  readonly columns: Array<[string, number]>;
}

export interface SlotStatus {
  readonly slot: string;
  readonly active: boolean;
  readonly confirmedLsn: Lsn | null;
  /** WAL the server keeps for the slot: current WAL position minus the slot's restart position. */
  readonly retainedBytes: number;
  /** Bytes between the current WAL position and what the archive confirmed. */
  readonly lagBytes: number;
  /** Seconds since the slot last confirmed (from the walsender, when a streamer is connected). */
  readonly lagSeconds: number | null;
  readonly walStatus: string | null;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

// Tables whose rows decoding publishes (FOR ALL TABLES: every permanent user table, partitions one by one).
const PUBLISHED_TABLES = `
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and c.relpersistence = 'p'
   and n.nspname !~ '^pg_' and n.nspname <> 'information_schema'
   and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;

export class SourceDatabase {
  private constructor(
    private readonly client: pg.Client,
    readonly target: DatabaseTarget,
    readonly versionNum: number,
  ) {}

  static async open(target: DatabaseTarget): Promise<SourceDatabase> {
    const client = await connectSource(target, "stowage stream (control)");
    try {
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
      return new SourceDatabase(client, target, Number(rows[0]!.v));
    } catch (error) {
      await client.end().catch(() => {});
      throw classifyConnectionError(error, target);
    }
  }

  async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.client.query<R>(sql, values)).rows;
    } catch (error) {
      throw classifyConnectionError(error, this.target);
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }

  /** Logical decoding needs wal_level=logical (a restart of the server); say so plainly. */
  async checkWalLevel(): Promise<void> {
    const [row] = await this.query<{ wal_level: string }>("show wal_level");
    if (row?.wal_level !== "logical") {
      throw new BackupError(
        "INVALID_OPTIONS",
        `the source has wal_level=${row?.wal_level}; point-in-time archiving needs wal_level=logical ` +
          "(set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart the server; Supabase projects have it already)",
      );
    }
  }

  /**
   * Tables without a replica identity: once published, UPDATE and DELETE on them FAIL on the source.
   * Refuse to start rather than break the user's application.
   */
  async tablesWithoutIdentity(): Promise<string[]> {
    const rows = await this.query<{ t: string }>(
      `select format('%I.%I', n.nspname, c.relname) as t ${PUBLISHED_TABLES}
          and (c.relreplident = 'n'
               or (c.relreplident = 'd' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary))
               or (c.relreplident = 'i' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident)))
        order by 1`,
    );
    return rows.map((r) => r.t);
  }

  /** Creates `FOR ALL TABLES` publication unless it exists (needs a superuser, or Supabase's postgres). */
  async ensurePublication(publication: string): Promise<void> {
    const rows = await this.query("select 1 from pg_publication where pubname = $1", [publication]);
    if (rows.length > 0) return;
    try {
      await this.client.query(`CREATE PUBLICATION ${q(publication)} FOR ALL TABLES`);
    } catch (error) {
      throw new BackupError(
        "DUMP_FAILED",
        `cannot create the publication ${publication}: ${(error as Error).message} (it needs a superuser or the owner of every table)`,
        { cause: error },
      );
    }
  }

  async dropPublication(publication: string): Promise<boolean> {
    const rows = await this.query("select 1 from pg_publication where pubname = $1", [publication]);
    if (rows.length === 0) return false;
    await this.query(`DROP PUBLICATION ${q(publication)}`);
    return true;
  }

  /** Slots of this database whose name starts with `prefix`, with their lag. */
  async slots(prefix: string): Promise<SlotStatus[]> {
    const rows = await this.query<{
      slot_name: string;
      active: boolean;
      confirmed: string | null;
      retained: string | null;
      lag: string | null;
      lag_seconds: number | null;
      wal_status: string | null;
    }>(
      `select s.slot_name, s.active, s.confirmed_flush_lsn::text as confirmed,
              pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint::text as retained,
              pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint::text as lag,
              extract(epoch from now() - r.reply_time)::float8 as lag_seconds,
              s.wal_status
         from pg_replication_slots s
         left join pg_stat_replication r on r.pid = s.active_pid
        where s.database = current_database() and s.slot_type = 'logical' and starts_with(s.slot_name, $1)
        order by s.slot_name`,
      [prefix],
    );
    return rows.map((r) => ({
      slot: r.slot_name,
      active: r.active,
      confirmedLsn: r.confirmed ? parseLsn(r.confirmed) : null,
      retainedBytes: Number(r.retained ?? 0),
      lagBytes: Number(r.lag ?? 0),
      lagSeconds: r.lag_seconds,
      walStatus: r.wal_status,
    }));
  }

  async dropSlot(slot: string): Promise<void> {
    await this.query("select pg_drop_replication_slot($1)", [slot]);
  }

  /** A tiny transaction that only shows up in the change stream: proof the archive is current while the database is idle. */
  async heartbeat(): Promise<void> {
    await this.query("select pg_logical_emit_message(true, 'stowage-heartbeat', '')");
  }

  /** Column shapes of the published tables, in the given exported snapshot (the base's) or now. */
  async relationShapes(snapshot?: string): Promise<RelationShape[]> {
    const sql = `select n.nspname as schema, c.relname as name,
              coalesce((select json_agg(json_build_array(a.attname, a.atttypid::bigint) order by a.attnum)
                          from pg_attribute a
                         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '[]') as columns
         ${PUBLISHED_TABLES}
        order by 1, 2`;
    if (!snapshot) return this.query<RelationShape>(sql);
    await this.query("begin isolation level repeatable read read only");
    try {
      await this.query(`set transaction snapshot '${snapshot.replace(/'/g, "")}'`);
      return await this.query<RelationShape>(sql);
    } finally {
      await this.query("rollback").catch(() => {});
    }
  }

  /** Every sequence's last value (`null` when never used), so a restore can set them as the source had them. */
  async sequences(): Promise<Array<{ schema: string; name: string; value: string }>> {
    const rows = await this.query<{ schema: string; name: string; value: string | null }>(
      `select schemaname as schema, sequencename as name, last_value::text as value from pg_sequences
        where schemaname !~ '^pg_' and schemaname <> 'information_schema' order by 1, 2`,
    );
    return rows.filter((r) => r.value !== null) as Array<{ schema: string; name: string; value: string }>;
  }

  async now(): Promise<bigint> {
    const [row] = await this.query<{ us: string }>(
      "select (extract(epoch from clock_timestamp()) * 1000000)::bigint::text as us",
    );
    return BigInt(row!.us);
  }
}
