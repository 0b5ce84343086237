import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/server.js";

const run = promisify(execFile);

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

describe("openapi.json under a standard OpenAPI linter", () => {
  it("passes `redocly lint` with the recommended rules (redocly.yaml)", async () => {
    const { stdout } = await run(path.join(repoRoot, "node_modules/.bin/redocly"), ["lint", "--format=json"], {
      cwd: repoRoot,
      timeout: 60_000,
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
    });
    const report = JSON.parse(stdout) as LintReport;
    const problems = report.problems.map((problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer}`);
    expect(problems.filter((problem) => problem.startsWith("error"))).toEqual([]);
    // The two warnings left are deliberate: the service is private (no licence to name), and
    // GET /openapi.json answers no client error.
    expect(problems).toEqual(["warn info-license #/info", "warn operation-4xx-response #/paths/~1openapi.json/get/responses"]);
  }, 60_000);
});
