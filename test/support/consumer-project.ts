import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
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
  /**
   * `npm install`s a package tarball without the registry: the dependencies it
   * declares are taken from links to the repository's installed packages (npm
   * checks their versions and prunes the links it does not need), then
   * `alsoLink` (the project's own tools, e.g. `@types/node`) is linked in.
   */
  installTarball(tarball: string, alsoLink?: string[]): Promise<void>;
  remove(): Promise<void>;
}

const repoModules = path.join(repoRoot, "node_modules");

/** Names of the packages installed in the repository: `pino`, `@bufbuild/protobuf`, … */
async function installedPackages(): Promise<string[]> {
  const entries = (await readdir(repoModules)).filter((name) => !name.startsWith("."));
  const scoped = await Promise.all(
    entries.map(async (name) => (name.startsWith("@") ? (await readdir(path.join(repoModules, name))).map((inner) => `${name}/${inner}`) : [name])),
  );
  return scoped.flat();
}

async function link(dir: string, name: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, "node_modules", name)), { recursive: true });
  await symlink(path.join(repoModules, name), path.join(dir, "node_modules", name), "dir");
}

export async function consumerProject(options: { linkRepositoryModules?: boolean } = {}): Promise<ConsumerProject> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "cart-consumer-"));
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  if (options.linkRepositoryModules ?? true) await symlink(repoModules, path.join(dir, "node_modules"), "dir");
  const project: ConsumerProject = {
    dir,
    write: (file, content) => writeFile(path.join(dir, file), content),
    async installTarball(tarball, alsoLink = []) {
      for (const name of await installedPackages()) await link(dir, name);
      await project.exec("npm", ["install", "--offline", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", tarball]);
      for (const name of alsoLink) await link(dir, name);
    },
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
  return project;
}
