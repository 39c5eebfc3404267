/**
 * @module test/db/measure-compression
 * Measures how the BPMN XML is stored: PostgreSQL TOAST with pglz (default) vs lz4, PGlite (pglz
 * only), and gzip in the application (as the seed does: gzip, then base64 in a TEXT column, or raw
 * gzip in BYTEA). Real fixtures plus a generated ~3 MB diagram. Prints a Markdown table.
 * Run: npx tsx apps/diagrams/test/db/measure-compression.ts  (env STOWAGE_TEST_PG_URL)
 */
import { readdirSync, readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { generateLargeBpmn } from "./large-bpmn.ts";

const FIXTURES = "/work/shared/fixtures/bpmn";
const adminUrl = process.env.STOWAGE_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

const docs: { name: string; xml: string }[] = readdirSync(FIXTURES)
  .filter((n) => n.endsWith(".bpmn"))
  .sort()
  .map((name) => ({ name, xml: readFileSync(`${FIXTURES}/${name}`, "utf8") }));
docs.push({ name: "generated-large.bpmn", xml: generateLargeBpmn(3 * 1024 * 1024) });

const dbName = `stowage_measure_${process.pid}`;
const admin = new pg.Client(adminUrl);
await admin.connect();
await admin.query(`create database ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const client = new pg.Client(url.toString());
await client.connect();
try {
  await client.query(`create table m (name text, pglz text compression pglz, lz4 text compression lz4,
                      gz_b64 text, gz_bytea bytea)`);
  const lite = await PGlite.create();
  await lite.exec("create table m (name text, x text)");
  const rows: string[] = [];
  let totals = { raw: 0, pglz: 0, lz4: 0, gz64: 0, gzb: 0, lite: 0 };
  let largeTimes = "";
  for (const d of docs) {
    const gz = gzipSync(Buffer.from(d.xml, "utf8"), { level: 6 });
    await client.query("insert into m values ($1, $2, $2, $3, $4)", [d.name, d.xml, gz.toString("base64"), gz]);
    await lite.query("insert into m values ($1, $2)", [d.name, d.xml]);
    const r = await client.query(
      `select octet_length(pglz) raw, pg_column_size(pglz) pglz, pg_column_size(lz4) lz4,
              pg_column_size(gz_b64) gz64, pg_column_size(gz_bytea) gzb,
              pg_column_compression(lz4) c from m where name = $1`,
      [d.name],
    );
    const l = await lite.query<{ s: number }>("select pg_column_size(x) s from m where name = $1", [d.name]);
    const s = r.rows[0];
    const lite_ = Number(l.rows[0]?.s);
    totals = {
      raw: totals.raw + Number(s.raw),
      pglz: totals.pglz + s.pglz,
      lz4: totals.lz4 + s.lz4,
      gz64: totals.gz64 + s.gz64,
      gzb: totals.gzb + s.gzb,
      lite: totals.lite + lite_,
    };
    rows.push(`| ${d.name} | ${s.raw} | ${s.pglz} | ${s.lz4} | ${lite_} | ${s.gz64} | ${s.gzb} |`);
    if (d.name === "generated-large.bpmn") {
      const time = async (col: string) => {
        const t = performance.now();
        for (let i = 0; i < 10; i++) await client.query(`select ${col} from m where name = $1`, [d.name]);
        return ((performance.now() - t) / 10).toFixed(1);
      };
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) gunzipSync(gz);
      const gunzipMs = ((performance.now() - t0) / 10).toFixed(1);
      const t1 = performance.now();
      for (let i = 0; i < 10; i++) gzipSync(Buffer.from(d.xml, "utf8"));
      const gzipMs = ((performance.now() - t1) / 10).toFixed(1);
      largeTimes = `read of the ${(Number(s.raw) / 1048576).toFixed(1)} MiB diagram (mean of 10, ms): pglz ${await time("pglz")}, lz4 ${await time("lz4")}, gzip+base64 column ${await time("gz_b64")} + gunzip ${gunzipMs} in Node; gzip in Node ${gzipMs}`;
    }
    const back = await client.query("select lz4 from m where name = $1", [d.name]);
    if (back.rows[0].lz4 !== d.xml) throw new Error(`${d.name}: lz4 read is not byte-identical`);
  }
  const pct = (n: number) => `${((100 * n) / totals.raw).toFixed(1)}%`;
  console.log("| file | raw bytes | pglz | lz4 | PGlite (pglz) | gzip+base64 text | gzip bytea |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  console.log(
    `| **total** | ${totals.raw} | ${totals.pglz} (${pct(totals.pglz)}) | ${totals.lz4} (${pct(totals.lz4)}) | ${totals.lite} (${pct(totals.lite)}) | ${totals.gz64} (${pct(totals.gz64)}) | ${totals.gzb} (${pct(totals.gzb)}) |`,
  );
  console.log(`\n${largeTimes}`);
  await lite.close();
} finally {
  await client.end();
  await admin.query(`drop database ${dbName}`);
  await admin.end();
}
