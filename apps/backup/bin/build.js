#!/usr/bin/env node
/**
 * @module bin/build
 * Bundles the CLI (apps/backup/src/cli/main.ts, the workspace packages it imports and their npm
 * dependencies) into `dist/` with esbuild, so `stowage` can start without tsx. Lazily imported
 * providers (S3, Nextcloud, Google Drive SDKs) stay in their own chunks (`splitting`), so they are
 * still loaded only when used. `import.meta.url` in workspace sources is replaced by the source
 * file's own URL, so files they read relative to themselves (package.json for the version) are
 * the same ones tsx would read. `build-info.json` lists every input (sources, and each dependency's
 * package.json); bundle-check.js refuses the bundle as soon as one of them changes. Usage: node apps/backup/bin/build.js [outdir]
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { BUILD_INFO, freshBundle } from "./bundle-check.js";

const APP_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Native addons and optional native bindings cannot be bundled; the CLI does not load them. */
const EXTERNAL = ["better-sqlite3", "pg-native"];

/**
 * The file whose change makes the bundle stale: a workspace source itself, or for a dependency its
 * package.json (npm rewrites the package's folder on every install or update; checking one file per
 * package instead of each of its ~1,000 modules keeps the start-up check near 1 ms).
 * @param {string} file
 */
function watchedFile(file) {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = file.lastIndexOf(marker);
  if (at < 0) return file;
  const rest = file.slice(at + marker.length).split(path.sep);
  const name = rest[0]?.startsWith("@") ? rest.slice(0, 2) : rest.slice(0, 1);
  return path.join(file.slice(0, at + marker.length), ...name, "package.json");
}

/**
 * Builds the bundle into `outdir` (emptied first) and writes its build-info.json.
 * @param {string} [outdir]
 * @returns {Promise<{ entry: string, inputs: number, ms: number }>}
 */
export async function buildBundle(outdir = path.join(APP_DIR, "dist")) {
  // Taken before reading any input, so a file edited during the build counts as newer than the
  // bundle. Minus 2 s because file times come from the kernel's coarse clock, which can lag
  // Date.now() by a tick: a file touched just around the start makes the bundle stale, never fresh.
  const begun = Date.now();
  const startedAt = begun - 2000;
  await rm(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { stowage: path.join(APP_DIR, "src/cli/main.ts") },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir,
    external: EXTERNAL,
    metafile: true,
    logLevel: "warning",
    // Bundled CommonJS dependencies call require(); ESM has none unless we make one.
    banner: {
      js: 'import { createRequire as __stowageRequire } from "node:module"; const require = __stowageRequire(import.meta.url);',
    },
    plugins: [
      {
        name: "source-import-meta-url",
        setup(build) {
          build.onLoad({ filter: /\/(packages|apps)\/[^/]+\/src\/.+\.ts$/ }, async (args) => {
            if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const source = await readFile(args.path, "utf8");
            return {
              contents: source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
              loader: "ts",
            };
          });
        },
      },
    ],
  });
  const inputs = [...new Set(Object.keys(result.metafile.inputs).map((input) => watchedFile(path.resolve(input))))];
  const info = { startedAt, entry: "stowage.js", inputs };
  await writeFile(path.join(outdir, BUILD_INFO), `${JSON.stringify(info)}\n`);
  return { entry: path.join(outdir, "stowage.js"), inputs: inputs.length, ms: Date.now() - begun };
}

/**
 * Builds until the result is fresh: an input changed shortly before or during a build makes that
 * bundle stale at once (see the 2 s margin), so wait out the margin and build again, at most 3 times.
 * @param {string} [outdir]
 */
export async function buildFreshBundle(outdir = path.join(APP_DIR, "dist")) {
  for (let attempt = 1; ; attempt++) {
    const built = await buildBundle(outdir);
    if (freshBundle(pathToFileURL(`${outdir}/`))) return built;
    if (attempt === 3) throw new Error("the sources keep changing during the build; the bundle is stale, build again later");
    await new Promise((resolve) => setTimeout(resolve, 2100));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { entry, inputs, ms } = await buildFreshBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`built ${path.relative(process.cwd(), entry)} from ${inputs} files in ${ms} ms`);
}
