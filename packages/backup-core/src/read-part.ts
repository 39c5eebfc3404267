/**
 * @module read-part
 * @deprecated The part reader lives beside the write side in archive/read-part.ts; this path stays
 * for existing imports.
 */
export * from "./archive/read-part.ts";
