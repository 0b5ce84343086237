import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./server.js";

const run = promisify(execFile);

/**
 * A scratch project outside the repository, the way another team starts one:
 * its own folder and `package.json` (ES modules); `node_modules` links the
 * repository's installed packages unless the test installs its own.
 */
export interface ConsumerProject {
  readonly dir: string;
  write(file: string, content: string | Buffer): Promise<void>;
  /** Runs a command in the project; rejects with its output when it exits non-zero. */
  exec(command: string, args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  remove(): Promise<void>;
}

export async function consumerProject(options: { linkRepositoryModules?: boolean } = {}): Promise<ConsumerProject> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "cart-consumer-"));
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  if (options.linkRepositoryModules ?? true) await symlink(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
  return {
    dir,
    write: (file, content) => writeFile(path.join(dir, file), content),
    async exec(command, args, env = {}) {
      try {
        return await run(command, args, { cwd: dir, env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: error });
      }
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The code blocks of README.md in `language` whose first line starts with `firstLine`. */
export async function readmeCodeBlocks(language: string, firstLine: string): Promise<string[]> {
  const readme = await readFile(path.join(repoRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm"))].map((match) => match[1]!);
  return blocks.filter((block) => block.startsWith(firstLine));
}
