import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

/**
 * `.env.example` lists every variable of the README's configuration table
 * with its default, and those values configure exactly what no values do.
 */

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const envExample = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");

/** The README table's variables and their defaults: a `literal`, or "" where the default is described (none, embedded, automatic). */
function readmeDefaults(): Map<string, string> {
  const table = readme.slice(readme.indexOf("| Variable |"));
  const rows = table.slice(0, table.indexOf("\n\n")).split("\n").filter((line) => line.startsWith("| `"));
  const defaults = new Map<string, string>();
  for (const row of rows) {
    const [names, values] = row.slice(1).split(" | ");
    const variables = [...names!.matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1]!);
    const parts = variables.length > 1 ? values!.split(" / ") : [values!];
    expect(parts, `the defaults of ${names}`).toHaveLength(variables.length);
    variables.forEach((variable, index) => defaults.set(variable, /^`([^`]*)`( \(.*\))?$/.exec(parts[index]!.trim())?.[1] ?? ""));
  }
  return defaults;
}

function envExampleValues(): Map<string, string> {
  const lines = envExample.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
  return new Map(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

describe(".env.example", () => {
  it("lists every variable of the README's configuration table, with its default", () => {
    const defaults = readmeDefaults();
    expect(defaults.size).toBeGreaterThan(20);
    expect(Object.fromEntries(envExampleValues())).toEqual(Object.fromEntries(defaults));
  });

  it("configures exactly what an empty environment does", () => {
    expect(loadConfig(Object.fromEntries(envExampleValues()), false)).toEqual(loadConfig({}, false));
  });

  it("names only variables that src/config.ts reads", () => {
    const source = readFileSync(new URL("../../src/config.ts", import.meta.url), "utf8");
    for (const variable of envExampleValues().keys()) expect(source, variable).toMatch(new RegExp(`\\b${variable}\\b`));
  });
});
