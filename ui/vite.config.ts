import { defineConfig } from "vitest/config";

// Plain Vite: esbuild compiles the TSX (jsxImportSource: preact in tsconfig). No network requests at run time:
// everything is bundled into dist/, which the Tauri shell serves from the binary.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  server: { port: 5173, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "node", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
