/** archive/coalesce: small chunks gathered into big ones, bytes and order unchanged. */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { coalesce } from "../src/archive/coalesce.ts";

async function collect(chunks: Buffer[], size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(coalesce(size))) out.push(chunk as Buffer);
  return out;
}

describe("coalesce", () => {
  it("emits chunks of at least the size, the last one possibly smaller, with the same bytes in order", async () => {
    const chunks = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 300), i));
    const out = await collect(chunks, 1000);
    expect(Buffer.concat(out).equals(Buffer.concat(chunks))).toBe(true);
    for (const chunk of out.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(1000);
    expect(out.length).toBeLessThan(chunks.length / 3);
  });

  it("passes a chunk that is already big enough through without copying it", async () => {
    const big = Buffer.alloc(5000, 7);
    const out = await collect([big], 1000);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(big);
  });

  it("emits nothing for an empty stream", async () => {
    expect(await collect([], 1000)).toEqual([]);
  });
});
