/** @module cli/version — the tool version, from this workspace's package.json. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const TOOL_VERSION: string = (require("../../package.json") as { version: string }).version;
