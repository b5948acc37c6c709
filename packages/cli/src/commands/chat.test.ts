import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtBin, runCli as runMinimind, temporaryFolder } from "../testing/built-cli.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
const data = writeTinyData(folder.path);
const run = join(folder.path, "pretrain");
// A private tmux server, so the test never touches anyone's sessions.
const socket = `minimind-chat-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
}

function hasTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The pane's text, wrapped lines joined. */
function screen(session: string): string {
  return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session);
}

/** Polls the pane until `test` holds; fails with the screen after `timeoutMs`. */
async function waitFor(session: string, test: (text: string) => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(session);
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Starts `minimind chat` in a pseudo-terminal; the shell prints EXIT=<code> when it ends. `model` undefined:
 * the shipped default model.
 */
function startChat(session: string, model: string | undefined, extra: string[]): void {
  const command = [
    "env",
    "NO_COLOR=1",
    "LANG=C.UTF-8",
    process.execPath,
    builtBin,
    "chat",
    ...(model === undefined ? [] : ["--model", model]),
    "--greedy",
    "--verbose",
    ...extra,
  ]
    .map((word) => `'${word}'`)
    .join(" ");
  tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "60", `${command}; echo EXIT=$?; sleep 120`);
}

const statistics = (text: string) =>
  [...text.matchAll(/\[reused (\d+) cached tokens/g)].map((match) => Number(match[1]));
const prompts = (text: string) => text.split("\n").filter((line) => line.startsWith("> ")).length;

beforeAll(() => {
  const result = runMinimind([
    "pretrain",
    data.pretrain,
    "--out",
    run,
    ...TINY_MODEL,
    ...TINY_BATCHES,
    "--max-steps",
    "2",
  ]);
  expect(result.status).toBe(0);
});

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // no server left
  }
  folder.remove();
});

describe.skipIf(!hasTmux())("minimind chat in a pseudo-terminal", () => {
  it("streams the shipped model's answers, reuses the cache on turn 2, /reset empties it, Ctrl-D leaves with 0", async () => {
    const session = "turns";
    const question = "「床前看月光」的下一句是什么？";
    startChat(session, undefined, ["--max-new-tokens", "12"]);
    await waitFor(session, (text) => prompts(text) >= 1, "the first prompt");
    tmux("send-keys", "-t", session, "-l", question);
    tmux("send-keys", "-t", session, "Enter");
    const first = await waitFor(session, (text) => statistics(text).length >= 1, "the first answer");
    expect(statistics(first)[0]).toBe(0);
    // The streamed answer is the shipped model's greedy answer: the same text `generate` gives for this prompt.
    const expected = runMinimind(["generate", "--greedy", "--max-new-tokens", "12", question]);
    expect(expected.status).toBe(0);
    expect(expected.stdout.trim()).not.toBe("");
    expect(first.replace(/\s/g, "")).toContain(`${question}${expected.stdout.replace(/\s/g, "")}[reused0`);

    tmux("send-keys", "-t", session, "-l", "疑是地上霜");
    tmux("send-keys", "-t", session, "Enter");
    const second = await waitFor(session, (text) => statistics(text).length >= 2, "the second answer");
    // Turn 2 keeps the first turn's prompt (at least) in the cache: 20-odd tokens of the chat template.
    expect(statistics(second)[1]).toBeGreaterThan(10);

    tmux("send-keys", "-t", session, "-l", "/stats");
    tmux("send-keys", "-t", session, "Enter");
    await waitFor(session, (text) => statistics(text).length >= 3, "the /stats line");

    tmux("send-keys", "-t", session, "-l", "/reset");
    tmux("send-keys", "-t", session, "Enter");
    await waitFor(session, (text) => text.includes("(conversation cleared)"), "/reset");
    tmux("send-keys", "-t", session, "-l", "疑是地上霜");
    tmux("send-keys", "-t", session, "Enter");
    const third = await waitFor(session, (text) => statistics(text).length >= 4, "the answer after /reset");
    expect(statistics(third)[3]).toBe(0);

    tmux("send-keys", "-t", session, "C-d");
    const end = await waitFor(session, (text) => text.includes("EXIT="), "the exit");
    expect(end).toContain("EXIT=0");
    expect(end).not.toMatch(/Error|at .*\.js:\d+/);
  });

  it("Ctrl-C stops an answer, and at the prompt leaves with 130", async () => {
    const session = "interrupt";
    // The tiny two-step model never ends an answer by itself, so there is always one to interrupt.
    startChat(session, run, ["--max-new-tokens", "4000"]);
    await waitFor(session, (text) => prompts(text) >= 1, "the first prompt");
    tmux("send-keys", "-t", session, "-l", "床前明月光");
    tmux("send-keys", "-t", session, "Enter");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    tmux("send-keys", "-t", session, "C-c");
    const stopped = await waitFor(session, (text) => text.includes("[stopped]"), "the stopped answer");
    expect(stopped).not.toContain("EXIT=");
    // the prompt that follows "[stopped]" (a long answer may have scrolled the first prompt out of the capture)
    await waitFor(session, (text) => prompts(text.slice(text.lastIndexOf("[stopped]"))) >= 1, "the next prompt");
    tmux("send-keys", "-t", session, "C-c");
    const end = await waitFor(session, (text) => text.includes("EXIT="), "the exit");
    expect(end).toContain("EXIT=130");
  });
});

describe("minimind chat bad inputs", () => {
  it("fails with one line with a missing model folder or a bad flag value", () => {
    const topP = runMinimind(["chat", "--top-p", "2"]);
    expect(topP.status).toBe(2);
    expect(topP.stderr).toContain('"2" is above the maximum 1');
    const missing = runMinimind(["chat", "--model", join(folder.path, "nowhere")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no such file or directory");
    const mask = runMinimind(["chat", "--model", run, "--mask", "diagonal"]);
    expect(mask.status).toBe(2);
    expect(mask.stderr).toContain('"diagonal" is not one of causal, prefix, segments');
  });

  it("reads a conversation from a pipe and ends at its end", () => {
    const result = runMinimind(["chat", "--model", run, "--greedy", "--max-new-tokens", "3"], {
      input: "床前明月光\n/think on\n/stats\n/bogus\n",
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("(thinking on)");
    expect(result.stdout).toMatch(/\[reused 0 cached tokens, \d+ new prompt tokens, \d generated/);
    expect(result.stdout).toContain("unknown command /bogus");
  });
});
