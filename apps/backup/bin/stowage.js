#!/usr/bin/env -S node --max-semi-space-size=4
// The `stowage` command. The sources are TypeScript; when `dist/` holds a bundle built from the
// current sources (`npm run build -w @stowage/backup`, see build.js), it runs that and skips tsx's
// loader thread (about 40 MB less RSS); otherwise tsx compiles the sources on load, as before.
// --max-semi-space-size=4 (in the shebang, so it applies to `npx stowage` and `./stowage.js`; V8
// ignores it when set later): a smaller young generation is collected more often, which frees the
// stream buffers sooner and keeps the peak RSS flat, at no measurable speed cost.
import { freshBundle } from "./bundle-check.js";

const bundle = freshBundle(new URL("../dist/", import.meta.url));
if (bundle) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
