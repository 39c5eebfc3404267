/**
 * @module db/sql-literal
 * Turns a `$1`-style statement and its parameters into one SQL text, so that BEGIN, the request's
 * role and claims, the statement and COMMIT travel to PostgreSQL as ONE simple-protocol message
 * (node-postgres has no pipelining, and the extended protocol takes one statement per message).
 *
 * Every value becomes a quoted literal ('…', or E'…' when it holds a backslash), which PostgreSQL
 * types exactly as it types an untyped bind parameter (`unknown`, resolved by the statement's casts):
 * the same statement with parameters and with literals means the same thing. Quotes are doubled and
 * backslashes doubled under E'', which is safe whatever `standard_conforming_strings` says. A NUL
 * character cannot be in PostgreSQL text and would cut a simple-protocol message short: it is
 * refused here with the SQLSTATE PostgreSQL gives a NUL parameter (22021), so callers see the same
 * error either way.
 */

/** An error shaped like PostgreSQL's (errors.ts maps it by `code`). */
export class SqlLiteralError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "SqlLiteralError";
    this.code = code;
  }
}

/** The quoted SQL literal of one parameter value. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`parameter ${value} is not a finite number`);
    text = String(value);
  } else if (typeof value === "bigint" || typeof value === "boolean") text = String(value);
  else if (value instanceof Date) text = value.toISOString();
  else throw new TypeError(`parameters of type ${typeof value} cannot be inlined; pass a string`);
  if (text.includes("\u0000")) {
    throw new SqlLiteralError("22021", 'invalid byte sequence for encoding "UTF8": 0x00');
  }
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes("\\") ? ` E${quoted.replaceAll("\\", "\\\\")}` : quoted;
}

/**
 * Replaces `$1`…`$n` in `statement` by the literals of `params`. The statement is the caller's
 * constant text: one statement (no `;`: the caller picks its result by position) without quotes (a
 * `$n` inside a string literal would be replaced too), using every parameter it is given.
 */
export function inlineParams(statement: string, params: readonly unknown[]): string {
  if (/['";]/.test(statement)) throw new TypeError("inlineParams: the statement must be one statement without quotes");
  const used = new Set<number>();
  const text = statement.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) throw new TypeError(`inlineParams: no value for $${n}`);
    used.add(index);
    return sqlLiteral(params[index]);
  });
  if (used.size !== params.length) throw new TypeError("inlineParams: a parameter is not used by the statement");
  return text;
}
