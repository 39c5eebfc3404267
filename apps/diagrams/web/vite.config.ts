import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into dist/, which `stowage-diagrams` serves at `/` (every API route keeps its path; see
// src/http/web-app.ts). `npx vite` in this folder proxies the API's prefixes to a running service
// (STOWAGE_DIAGRAMS_API, default http://127.0.0.1:3100).
const api = process.env.STOWAGE_DIAGRAMS_API ?? "http://127.0.0.1:3100";
const API_PREFIXES = ["/auth", "/projects", "/invitations", "/diagrams", "/objects", "/usage", "/metrics", "/openapi.json"];

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: Object.fromEntries(API_PREFIXES.map((prefix) => [prefix, api])),
  },
});
