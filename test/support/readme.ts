import { readFile } from "node:fs/promises";
import path from "node:path";
import { repoRoot } from "./server.js";

/** The code blocks of README.md in `language` whose first line starts with `firstLine`. */
export async function readmeCodeBlocks(language: string, firstLine: string): Promise<string[]> {
  const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm"))].map((match) => match[1]!);
  return blocks.filter((block) => block.startsWith(firstLine));
}
