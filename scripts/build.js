// `npm run build`: compiles the service into dist/main.js, one ES module
// holding src/ and gen/ (packages stay in node_modules), so production runs
// `node dist/main.js` without a TypeScript loader. Plain JavaScript, because
// `npm start` runs it on machines that have only the production dependencies.
import process from "node:process";
import { fileURLToPath, URL } from "node:url";
import { build } from "esbuild";

const projectRoot = fileURLToPath(new URL("..", import.meta.url));

/** `outDir`: where main.js goes, relative to the project or absolute (`node scripts/build.js <folder>`). */
export async function buildService(outDir = "dist") {
  await build({
    absWorkingDir: projectRoot,
    entryPoints: ["src/main.ts"],
    outdir: outDir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    // Stack traces name src/ lines with NODE_OPTIONS=--enable-source-maps.
    sourcemap: true,
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildService(process.argv[2]);
