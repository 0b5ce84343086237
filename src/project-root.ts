import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding package.json: the repository, or the folder the
 * production build was installed in. Files read at run time (migrations,
 * openapi.json, the storefront's sources) are found from here, because this
 * module runs both from `src/` (tsx, tests) and bundled into `dist/main.js`.
 */
function findProjectRoot(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(folder, "package.json"))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    folder = parent;
  }
  return folder;
}

const projectRoot = findProjectRoot();

/** A path inside the project, e.g. `projectPath("migrations")`. */
export function projectPath(...segments: string[]): string {
  return path.join(projectRoot, ...segments);
}
