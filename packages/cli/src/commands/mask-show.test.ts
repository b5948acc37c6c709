import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, temporaryFolder } from "../testing/built-cli.js";

const folder = temporaryFolder();
afterAll(() => folder.remove());
const fixture = (name: string) => fileURLToPath(new URL(`../__fixtures__/${name}`, import.meta.url));

const chat = JSON.stringify([
  { role: "user", content: "床前明月光" },
  { role: "assistant", content: "疑是地上霜" },
]);

function maskOf(args: string[]): { strategy: string; tokens: string[]; roles: string[] | null; mask: string[] } {
  const result = runCli(["mask", "show", ...args, "--json"]);
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

describe("minimind mask show", () => {
  it("segments over a chat: the user turn sees itself bidirectionally, answers are causal", () => {
    const { strategy, roles, mask } = maskOf(["--strategy", "segments", "--chat", chat]);
    expect(strategy).toBe("segments");
    expect(roles).not.toBeNull();
    const userTokens = (roles ?? []).flatMap((role, index) => (role === "user" ? [index] : []));
    const first = userTokens[0] as number;
    const last = userTokens.at(-1) as number;
    expect(mask[first]?.[last]).toBe("1"); // the first user token sees the last one
    const answer = (roles ?? []).lastIndexOf("assistant");
    expect(mask[answer - 1]?.[answer]).toBe("0"); // answers stay causal
  });

  it("prefix over a chat: everything before the first answer token is visible to all", () => {
    const { roles, mask } = maskOf(["--strategy", "prefix", "--chat", chat]);
    const firstAnswer = (roles ?? []).indexOf("assistant");
    expect(mask[0]?.slice(0, firstAnswer)).toBe("1".repeat(firstAnswer));
    expect(mask[0]?.[firstAnswer]).toBe("0");
  });

  it("a segment vector, and a plain length with causal", () => {
    expect(maskOf(["--strategy", "segments", "--segments", "1,0,0,1,1"]).mask).toEqual([
      "11100",
      "11100",
      "11100",
      "11110",
      "11111",
    ]);
    expect(maskOf(["--length", "3"]).mask).toEqual(["100", "110", "111"]);
  });

  it("a strategy module: a bare mask mod, or createStrategy built from the chat's roles", () => {
    expect(maskOf(["--strategy", fixture("sliding-window-strategy.mjs"), "--length", "4"]).mask).toEqual([
      "1000",
      "1100",
      "1110",
      "0111",
    ]);
    const blind = maskOf(["--strategy", fixture("assistant-blind-strategy.mjs"), "--chat", chat]);
    expect(blind.strategy).toBe("assistant-blind");
    const answer = (blind.roles ?? []).lastIndexOf("assistant");
    expect(blind.mask[answer]?.[answer - 1]).toBe("0");
  });

  it("draws in the terminal and writes an SVG", () => {
    const svg = join(folder.path, "mask.svg");
    const result = runCli(["mask", "show", "--strategy", "segments", "--chat", chat, "--svg", svg]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^segments: \d+ tokens\n/);
    expect(result.stdout).toContain("U 床");
    expect(result.stdout).toContain(`wrote ${svg}`);
    expect(readFileSync(svg, "utf8")).toMatch(/^<svg [^>]*>\n<title>segments attention mask, \d+ tokens<\/title>/);
  });

  it("a missing chat file fails naming it (exit 1)", () => {
    const result = runCli(["mask", "show", "--chat", "missing.json"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('minimind mask show: cannot read chat file "missing.json": no such file or directory\n');
  });

  it("malformed chat JSON fails naming file, line and column (exit 1)", () => {
    const path = join(folder.path, "chat.json");
    writeFileSync(path, '[\n  {"role": "user", "content": "hi"},\n  {"role": "assistant" "content": "x"}\n]\n');
    const result = runCli(["mask", "show", "--chat", path]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^minimind mask show: ${path.replaceAll("/", "\\/")}:3:\\d+: not valid JSON`),
    );
    const role = runCli(["mask", "show", "--chat", '[{"role":"robot","content":"x"}]']);
    expect(role.status).toBe(1);
    expect(role.stderr).toContain('--chat: message 0 has role "robot"');
  });

  it("a module that exports no strategy fails naming it (exit 1)", () => {
    const result = runCli(["mask", "show", "--strategy", fixture("not-a-strategy.mjs"), "--length", "3"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("exports neither createStrategy, strategy nor default");
  });

  it.each([
    [["--strategy", "diagonal", "--length", "3"], '--strategy "diagonal" is neither one of causal, prefix, segments'],
    [["--segments", "1,x"], '"x" is not a non-negative decimal integer'],
    [["--length", "0x10"], "is not a decimal integer"],
    [["--length", "3", "--segments", "1,1"], "give exactly one of --chat, --segments or --length"],
    [["--strategy", "prefix", "--length", "3"], "the prefix strategy needs a chat"],
    [["--frob"], "unknown option '--frob'"],
  ])("bad flags %j are usage errors (exit 2)", (args, message) => {
    const result = runCli(["mask", "show", ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
