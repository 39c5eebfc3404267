#!/usr/bin/env node
// The `stowage` command. The sources are TypeScript without a build step: tsx compiles them on load.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
