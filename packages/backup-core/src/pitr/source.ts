/**
 * @module pitr/source
 * What the streamer asks the source database on an ordinary connection: is logical decoding on,
 * the publication, tables that would break under it, the slots of a name and their lag, the
 * heartbeat, column shapes (to notice DDL) and sequence values (decoding does not carry them).
 */
import type pg from "pg";
import { matchesAny, SUPABASE_DATA_EXCLUDED_SCHEMAS, SUPABASE_DATA_EXCLUDED_TABLES } from "../dump/supabase-lists.ts";
import { BackupError } from "../errors.ts";
import type { DatabaseTarget } from "../pg/connection.ts";
import { classifyConnectionError, SUPABASE_DETECTION_SQL } from "../pg/snapshot.ts";
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

/**
 * How the publication names its tables. A superuser gets `FOR ALL TABLES`. Any other role (Supabase's
 * `postgres` is one) may not create that, nor `FOR TABLES IN SCHEMA` (also superuser-only, PostgreSQL
 * 15+), so its publication lists the tables one by one: those whose rows the base backup dumps and
 * that the role owns (directly or through a role it belongs to: PostgreSQL lets only an owner
 * publish a table). The list is kept current as tables appear (`syncPublication`).
 */
export type PublicationScope = { readonly kind: "all-tables" } | { readonly kind: "listed"; readonly supabase: boolean };
export class SourceDatabase {
  private constructor(
    private readonly client: pg.Client,
    readonly target: DatabaseTarget,
    readonly versionNum: number,
    readonly scope: PublicationScope,
  ) {}

  static async open(target: DatabaseTarget): Promise<SourceDatabase> {
    const client = await connectSource(target, "stowage stream (control)");
    try {
      const { rows } = await client.query<{ v: string; superuser: boolean; supabase: boolean }>(
        `select current_setting('server_version_num') as v,
                (select rolsuper from pg_roles where rolname = current_user) as superuser,
                ${SUPABASE_DETECTION_SQL} as supabase`,
      );
      const row = rows[0]!;
      const scope: PublicationScope = row.superuser ? { kind: "all-tables" } : { kind: "listed", supabase: row.supabase };
      return new SourceDatabase(client, target, Number(row.v), scope);
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
    const rows = await this.query<{ t: string; schema: string; name: string }>(
      `select format('%I.%I', n.nspname, c.relname) as t, n.nspname as schema, c.relname as name ${PUBLISHED_TABLES}
          and ${this.ownedFilter()}
          and (c.relreplident = 'n'
               or (c.relreplident = 'd' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary))
               or (c.relreplident = 'i' and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident)))
        order by 1`,
    );
    return rows.filter((r) => this.dumped(r)).map((r) => r.t);
  }

  /** With a listed publication, only tables the role can publish; with FOR ALL TABLES, all. */
  private ownedFilter(): string {
    return this.scope.kind === "listed" ? "pg_has_role(c.relowner, 'USAGE')" : "true";
  }

  /** Whether the base backup dumps this table's rows (what a listed publication may carry). */
  private dumped(t: { schema: string; name: string }): boolean {
    if (this.scope.kind !== "listed" || !this.scope.supabase) return true;
    return (
      !matchesAny(t.schema, SUPABASE_DATA_EXCLUDED_SCHEMAS) &&
      !SUPABASE_DATA_EXCLUDED_TABLES.some((x) => x.schema === t.schema && x.name === t.name)
    );
  }

  /**
   * Tables of a listed publication: `publishable` are dumped and owned (the publication carries
   * them), `unpublishable` are dumped but owned by a role this one does not belong to: their rows
   * come from the base only, and later changes to them are not archived.
   */
  async publicationTables(): Promise<{ publishable: string[]; unpublishable: string[] }> {
    const rows = await this.query<{ t: string; schema: string; name: string; owned: boolean }>(
      `select format('%I.%I', n.nspname, c.relname) as t, n.nspname as schema, c.relname as name,
              pg_has_role(c.relowner, 'USAGE') as owned ${PUBLISHED_TABLES}
        order by 1`,
    );
    const dumped = rows.filter((r) => this.dumped(r));
    return {
      publishable: dumped.filter((r) => r.owned).map((r) => r.t),
      unpublishable: dumped.filter((r) => !r.owned).map((r) => r.t),
    };
  }

  /**
   * Creates the publication unless it exists (`FOR ALL TABLES`, or the listed tables: see
   * PublicationScope), and brings a listed one up to date. Returns the dumped tables left out of a
   * listed publication because this role does not own them.
   */
  async ensurePublication(publication: string): Promise<string[]> {
    const rows = await this.query("select 1 from pg_publication where pubname = $1", [publication]);
    try {
      if (this.scope.kind === "all-tables") {
        if (rows.length === 0) await this.client.query(`CREATE PUBLICATION ${q(publication)} FOR ALL TABLES`);
        return [];
      }
      if (rows.length === 0) await this.client.query(`CREATE PUBLICATION ${q(publication)}`);
      return await this.syncPublication(publication);
    } catch (error) {
      throw new BackupError(
        "DUMP_FAILED",
        `cannot create the publication ${publication}: ${(error as Error).message} (` +
          (this.scope.kind === "all-tables"
            ? "FOR ALL TABLES needs a superuser)"
            : "a role that is not a superuser may publish only the tables it owns)"),
        { cause: error },
      );
    }
  }

  /**
   * A listed publication: adds the publishable tables it lacks (new tables), so their changes are
   * streamed from now on. Dropped tables leave a publication by themselves. Returns the tables
   * that cannot be published. Does nothing for FOR ALL TABLES.
   */
  async syncPublication(publication: string): Promise<string[]> {
    if (this.scope.kind === "all-tables") return [];
    const { publishable, unpublishable } = await this.publicationTables();
    // Created FOR ALL TABLES earlier (by a superuser): it carries every table already.
    const [pub] = await this.query<{ all: boolean }>("select puballtables as all from pg_publication where pubname = $1", [
      publication,
    ]);
    if (pub?.all) return [];
    const listed = await this.query<{ t: string }>(
      "select format('%I.%I', schemaname, tablename) as t from pg_publication_tables where pubname = $1",
      [publication],
    );
    const have = new Set(listed.map((r) => r.t));
    const missing = publishable.filter((t) => !have.has(t));
    if (missing.length > 0) await this.query(`ALTER PUBLICATION ${q(publication)} ADD TABLE ${missing.join(", ")}`);
    return unpublishable;
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
    const shapes = await this.allRelationShapes(snapshot);
    return shapes.filter((r) => this.dumped(r));
  }

  private async allRelationShapes(snapshot?: string): Promise<RelationShape[]> {
    const sql = `select n.nspname as schema, c.relname as name,
              coalesce((select json_agg(json_build_array(a.attname, a.atttypid::bigint) order by a.attnum)
                          from pg_attribute a
                         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '[]') as columns
         ${PUBLISHED_TABLES}
          and ${this.ownedFilter()}
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
