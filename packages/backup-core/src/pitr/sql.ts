/**
 * @module pitr/sql
 * Change lines into SQL for the restore's transaction. Values are literals exactly as the source
 * printed them, typed by the target column (an untyped literal takes the column's type), so no
 * value passes through a JS type. Inserts in a row for one table go out as one multi-row INSERT.
 * Runs with `session_replication_role = replica` (set by the restore before the data): no trigger
 * fires twice and foreign keys are not re-checked, as on the source they already held.
 */
import type { ChangeLine, TupleValues } from "./format.ts";

type RelationLine = Extract<ChangeLine, { op: "R" }>;

export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** A standard-conforming string literal: only `'` needs doubling (the restore sets standard_conforming_strings). */
export const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
const val = (v: string | null | false) => (v === null ? "NULL" : v === false ? "DEFAULT" : literal(v));

const MAX_ROWS_PER_INSERT = 500;

/**
 * Built-in types without a usable equality operator: json and xml have none, and the geometric
 * types' `=` compares areas or lengths (two different boxes of one area are "equal"). A REPLICA
 * IDENTITY FULL row is found by these columns' text forms instead, which are exact here: the
 * literal is what the source printed, and the target prints the value it parsed from that text.
 * Arrays of them too. Other types keep the typed comparison, which fails loudly if it cannot work.
 */
const COMPARED_AS_TEXT = new Set(
  // Each type with its array type: json, xml, point, lseg, path, box, polygon, line, circle.
  [
    [114, 199],
    [142, 143],
    [600, 1017],
    [601, 1018],
    [602, 1019],
    [603, 1020],
    [604, 1027],
    [628, 629],
    [718, 719],
  ].flat(),
);

export class SqlWriter {
  private readonly relations = new Map<number, RelationLine>();
  private pendingInsert: { rel: number; rows: string[] } | undefined;

  relation(line: RelationLine): void {
    this.relations.set(line.rel, line);
  }

  private rel(oid: number): RelationLine {
    const r = this.relations.get(oid);
    if (!r) throw new Error(`the segment names relation ${oid} before describing it`);
    return r;
  }

  private table(r: RelationLine): string {
    return `${ident(r.schema)}.${ident(r.table)}`;
  }

  /** SQL for one change ("" when it only joined a pending multi-row INSERT). */
  change(line: ChangeLine): string {
    if (line.op === "I") {
      const flushed = this.pendingInsert && this.pendingInsert.rel !== line.rel ? this.flush() : "";
      const row = `(${line.new.map(val).join(", ")})`;
      this.pendingInsert ??= { rel: line.rel, rows: [] };
      this.pendingInsert.rows.push(row);
      return this.pendingInsert.rows.length >= MAX_ROWS_PER_INSERT ? flushed + this.flush() : flushed;
    }
    const before = this.flush();
    switch (line.op) {
      case "U":
        return before + this.update(line);
      case "D":
        return before + this.delete(line);
      case "T": {
        const tables = line.rels.map((oid) => this.table(this.rel(oid))).join(", ");
        return `${before}TRUNCATE ONLY ${tables}${line.restartIdentity ? " RESTART IDENTITY" : ""}${line.cascade ? " CASCADE" : ""};\n`;
      }
      default:
        return before;
    }
  }

  /** Writes out a pending multi-row INSERT. */
  flush(): string {
    const pending = this.pendingInsert;
    if (!pending) return "";
    this.pendingInsert = undefined;
    const r = this.rel(pending.rel);
    const columns = r.columns.map((c) => ident(c.name)).join(", ");
    return `INSERT INTO ${this.table(r)} (${columns}) OVERRIDING SYSTEM VALUE VALUES\n${pending.rows.join(",\n")};\n`;
  }

  /** The row a change addresses: by key columns, or (REPLICA IDENTITY FULL) one row equal to the old one. */
  private where(r: RelationLine, oldKind: "K" | "O" | null, old: TupleValues | null, fallback: TupleValues): string {
    if (oldKind === "O" && old) {
      const conds = r.columns
        .map((c, i) => {
          if (old[i] === false) return "";
          const column = COMPARED_AS_TEXT.has(c.type) ? `${ident(c.name)}::text` : ident(c.name);
          return `${column} IS NOT DISTINCT FROM ${val(old[i]!)}`;
        })
        .filter(Boolean);
      return `ctid = (SELECT ctid FROM ${this.table(r)} WHERE ${conds.join(" AND ")} LIMIT 1)`;
    }
    const source = oldKind === "K" && old ? old : fallback;
    const conds = r.columns.flatMap((c, i) => (c.key ? [`${ident(c.name)} = ${val(source[i]!)}`] : []));
    if (conds.length === 0) throw new Error(`${r.schema}.${r.table} has no replica identity: its updates cannot be replayed`);
    return conds.join(" AND ");
  }

  private update(line: Extract<ChangeLine, { op: "U" }>): string {
    const r = this.rel(line.rel);
    // Without an old tuple the key did not change: leave key columns alone (a GENERATED ALWAYS identity
    // key refuses any SET). With REPLICA IDENTITY FULL every column is flagged as key: set them all.
    const sets = r.columns.flatMap((c, i) =>
      line.new[i] === false || (c.key && line.oldKind === null) ? [] : [`${ident(c.name)} = ${val(line.new[i]!)}`],
    );
    if (sets.length === 0) return "";
    return `UPDATE ONLY ${this.table(r)} SET ${sets.join(", ")} WHERE ${this.where(r, line.oldKind, line.old, line.new)};\n`;
  }

  private delete(line: Extract<ChangeLine, { op: "D" }>): string {
    const r = this.rel(line.rel);
    return `DELETE FROM ONLY ${this.table(r)} WHERE ${this.where(r, line.oldKind, line.old, line.old)};\n`;
  }
}

/**
 * An UPDATE may set a GENERATED ALWAYS identity column only to DEFAULT, and UPDATE has no OVERRIDING
 * SYSTEM VALUE: a replayed update that writes one (every update of a REPLICA IDENTITY FULL table
 * does, and so does one of the column itself, `SET n = DEFAULT` on the source) would fail. So the
 * replay turns such columns into GENERATED BY DEFAULT first and back into ALWAYS after the last
 * change (`IDENTITY_ALWAYS_RESTORE`), inside the restore's one transaction: nobody sees the switch,
 * and the restored schema is the base's. The list travels in a transaction-local setting.
 * (Partitions of PostgreSQL 17+ follow their parent and refuse the ALTER themselves.)
 */
export const IDENTITY_ALWAYS_OFF = `
DO $stowage_identity$
DECLARE r record; list jsonb := '[]';
BEGIN
  FOR r IN SELECT n.nspname, c.relname, a.attname
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE a.attidentity = 'a' AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
              AND NOT (c.relispartition AND current_setting('server_version_num')::int >= 170000)
              AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' LOOP
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I SET GENERATED BY DEFAULT', r.nspname, r.relname, r.attname);
    list := list || jsonb_build_array(jsonb_build_array(r.nspname, r.relname, r.attname));
  END LOOP;
  PERFORM set_config('stowage.identity_always', list::text, true);
END $stowage_identity$;
`;

export const IDENTITY_ALWAYS_RESTORE = `
DO $stowage_identity$
DECLARE x jsonb;
BEGIN
  FOR x IN SELECT jsonb_array_elements(current_setting('stowage.identity_always')::jsonb) LOOP
    EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I SET GENERATED ALWAYS', x->>0, x->>1, x->>2);
  END LOOP;
END $stowage_identity$;
`;

/** Sets every sequence to what the source had (never lower than the rows replayed need). */
export function sequencesSql(sequences: ReadonlyArray<{ schema: string; name: string; value: string }>): string {
  const recorded = sequences
    .filter((s) => /^-?\d+$/.test(s.value))
    .map((s) => `(${literal(`${ident(s.schema)}.${ident(s.name)}`)}, ${s.value}::bigint)`);
  const values = recorded.length ? recorded.join(", ") : "(NULL::text, NULL::bigint)";
  return `
DO $stowage_sequences$
DECLARE r record; m bigint;
BEGIN
  FOR r IN SELECT v.seq, v.value FROM (VALUES ${values}) AS v(seq, value) WHERE v.seq IS NOT NULL AND to_regclass(v.seq) IS NOT NULL LOOP
    PERFORM pg_catalog.setval(r.seq::regclass, r.value, true);
  END LOOP;
  -- Owned sequences (identity, serial): never behind the highest value the replayed rows hold.
  FOR r IN SELECT d.objid::regclass AS seq, format('%I.%I', n.nspname, c.relname) AS tbl, a.attname AS col
             FROM pg_depend d
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_class c ON c.oid = d.refobjid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LOOP
    EXECUTE format('SELECT max(%I)::bigint FROM %s', r.col, r.tbl) INTO m;
    IF m IS NOT NULL AND m > (SELECT coalesce(q.last_value, m - 1) FROM pg_sequences q
                               WHERE format('%I.%I', q.schemaname, q.sequencename)::regclass = r.seq) THEN
      PERFORM pg_catalog.setval(r.seq, m, true);
    END IF;
  END LOOP;
END $stowage_sequences$;
`;
}
