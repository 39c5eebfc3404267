/** @module cli/version — the tool version: the engine's one TOOL_VERSION (also in every manifest and the server's health). */
export { TOOL_VERSION } from "@stowage/backup-core";
