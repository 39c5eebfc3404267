/**
 * @module pitr/decode
 * pgoutput messages (parsed by pg-logical-replication's PgoutputParser) into the archive's change
 * lines (format.ts). Values are kept exactly as PostgreSQL printed them: the parser would turn them
 * into JS values (a timestamp into a Date, losing microseconds; a bigint in json into a double), so
 * each relation's column parsers are replaced by the identity before any row of it is read.
 */

import type { Pgoutput } from "pg-logical-replication";
import { PgoutputParser } from "pg-logical-replication/dist/output-plugins/pgoutput/pgoutput-parser.js";
import type { ChangeLine, TupleValues } from "./format.ts";
import { formatLsn, microsToIso, parseLsn } from "./lsn.ts";

type Relation = Pgoutput.MessageRelation;
/** `16/B374D848`, without the zero padding the parser adds. */
const lsn = (text: string | null) => formatLsn(parseLsn(text ?? "0/0"));
const keepText = (raw: unknown) => raw;

export class ChangeDecoder {
  private readonly parser = new PgoutputParser();

  /** Decodes one XLogData payload; `undefined` for messages the archive does not keep (origin, type, logical messages). */
  decode(payload: Buffer): ChangeLine | undefined {
    const msg = this.parser.parse(payload);
    switch (msg.tag) {
      case "begin":
        return { op: "B", xid: msg.xid, lsn: lsn(msg.commitLsn), time: microsToIso(msg.commitTime as bigint) };
      case "commit":
        return {
          op: "C",
          lsn: lsn(msg.commitLsn),
          end: lsn(msg.commitEndLsn),
          time: microsToIso(msg.commitTime as bigint),
        };
      case "relation":
        for (const column of msg.columns) column.parser = keepText;
        return relationLine(msg);
      case "insert":
        return { op: "I", rel: msg.relation.relationOid, new: values(msg.relation, msg.new) };
      case "update": {
        const oldKind = msg.key ? "K" : msg.old ? "O" : null;
        const old = msg.key ?? msg.old;
        return {
          op: "U",
          rel: msg.relation.relationOid,
          oldKind,
          old: old ? values(msg.relation, old, oldKind === "K") : null,
          new: values(msg.relation, msg.new),
        };
      }
      case "delete": {
        const oldKind = msg.key ? "K" : "O";
        return {
          op: "D",
          rel: msg.relation.relationOid,
          oldKind,
          old: values(msg.relation, (msg.key ?? msg.old)!, oldKind === "K"),
        };
      }
      case "truncate":
        return {
          op: "T",
          rels: msg.relations.map((r) => r.relationOid),
          cascade: msg.cascade,
          restartIdentity: msg.restartIdentity,
        };
      default:
        return undefined;
    }
  }
}

export function relationLine(msg: Relation): Extract<ChangeLine, { op: "R" }> {
  return {
    op: "R",
    rel: msg.relationOid,
    schema: msg.schema,
    table: msg.name,
    identity: msg.replicaIdentity,
    columns: msg.columns.map((c) => ({ name: c.name, type: c.typeOid, key: (c.flags & 1) === 1 })),
  };
}

/**
 * Column-ordered values. In a key tuple only key columns carry values (`null` elsewhere); an
 * unchanged TOAST value arrives as `undefined` and is written as `false` ("keep what is there").
 */
function values(relation: Relation, tuple: Record<string, unknown>, keyOnly = false): TupleValues {
  return relation.columns.map((c) => {
    if (keyOnly && !(c.flags & 1)) return null;
    const v = tuple[c.name];
    if (v === undefined) return false;
    if (v === null) return null;
    return Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
  });
}
