import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into dist/, which `stowage serve` serves at `/` (the API stays under `/api`).
// `npx vite` in this folder proxies /api to a running server (STOWAGE_API, default http://127.0.0.1:3000).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { "/api": process.env.STOWAGE_API ?? "http://127.0.0.1:3000" },
  },
});
