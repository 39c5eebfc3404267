#!/usr/bin/env node
// The `stowage-diagrams` command. The service is TypeScript run as-is (no build step): tsx's ESM
// loader is registered first, then the server module is imported and started.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/server.ts");
await main();
