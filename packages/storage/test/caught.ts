import { expect } from "vitest";
import { StorageError } from "../src/errors.ts";

/** The StorageError that `run` throws; fails the test when it throws something else or nothing. */
export function caught(run: () => unknown): StorageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error("expected a StorageError, got success");
}
