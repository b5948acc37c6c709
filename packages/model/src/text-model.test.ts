/**
 * The text API on the dense-tiny PyTorch fixture with MiniMind's tokenizer: one-call loading of a checkpoint
 * folder, streamed text equal chunk by chunk to the decoded greedy ids (no U+FFFD from split characters),
 * stop strings, chat templates with thinking on/off, strategies for the prompt, and chat sessions that reuse
 * the cache across turns where the strategy allows (and recompute where it does not) with the same replies
 * as a fresh run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChatMessage, Tokenizer } from "@minimind/tokenizer";
import { afterAll, describe, expect, it } from "vitest";
import { configOf, readTensors } from "./__fixtures__/parity.js";
import { ChatSession } from "./chat-session.js";
import { MiniMindForCausalLM } from "./model.js";
import { StopStringFilter, TextModel } from "./text-model.js";

const config = configOf("dense-tiny");
const model = MiniMindForCausalLM.fromStateDict(
  config,
  readTensors("dense-tiny", "model.safetensors"),
  "dense-tiny",
).eval();
const tokenizer = Tokenizer.minimind();
const text = new TextModel(model, tokenizer);
afterAll(() => model.dispose());

const never = { eosTokenId: [] as number[] };

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

describe("TextModel.stream", () => {
  for (const prompt of ["😀 龘 ", "学而时习之，不亦说乎？", "Hello, world"]) {
    it(`streams text equal to the decoded greedy ids, chunk by chunk (${JSON.stringify(prompt)})`, async () => {
      const ids = tokenizer.encode(prompt);
      const greedy = (await model.generate([ids], { maxNewTokens: 24, ...never }))[0] as number[];
      const chunks = await collect(text.stream(prompt, { maxNewTokens: 24, ...never }));
      const expected = tokenizer.decode(greedy, { skipSpecialTokens: true });
      expect(chunks.join("")).toBe(expected);
      // chunking adds no replacement characters: a character split across tokens arrives whole
      const replacements = (value: string) => value.split("\ufffd").length - 1;
      expect(chunks.reduce((sum, chunk) => sum + replacements(chunk), 0)).toBe(replacements(expected));
      expect(await text.generate(prompt, { maxNewTokens: 24, ...never })).toBe(expected);
    });
  }

  it("stops at a stop string, which the text does not include", async () => {
    const full = await text.generate("Hello, world", { maxNewTokens: 24, ...never });
    const stop = full.slice(6, 8);
    expect(stop.length).toBe(2);
    const cut = await text.generate("Hello, world", { maxNewTokens: 24, stop: [stop], ...never });
    expect(cut).toBe(full.slice(0, full.indexOf(stop)));
  });

  it("StopStringFilter holds back a possible stop string across chunks", () => {
    const filter = new StopStringFilter(["END"]);
    expect(filter.push("abcE")).toBe("ab"); // "cE" could start "END"
    expect(filter.push("N")).toBe("c"); // "EN" still could
    expect(filter.push("Dxyz")).toBe(""); // it did: nothing from "END" on
    expect(filter.stopped).toBe(true);
    expect(filter.push("more") + filter.flush()).toBe("");
    const open = new StopStringFilter(["END"]);
    expect(open.push("EN") + open.push("d") + open.flush()).toBe("ENd");
  });

  it("renders chat messages with the template (thinking on or off) and takes any mask", async () => {
    const messages: ChatMessage[] = [{ role: "user", content: "你好" }];
    const off = text.encodePrompt(messages);
    expect(tokenizer.decode(off.ids)).toBe(
      "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    );
    const on = text.encodePrompt(messages, { thinking: true });
    expect(tokenizer.decode(on.ids)).toBe("<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n");
    const causalReply = await text.generate(messages, { maxNewTokens: 8, ...never });
    const prefixReply = await text.generate(messages, { maxNewTokens: 8, mask: "prefix", ...never });
    const expected = (await model.generate([off.ids], { maxNewTokens: 8, ...never }))[0] as number[];
    expect(causalReply).toBe(tokenizer.decode(expected, { skipSpecialTokens: true }));
    expect(typeof prefixReply).toBe("string");
    await expect(text.generate(messages, { maxTokens: 3 } as never)).rejects.toThrow(/unknown option "maxTokens"/);
  });
});

describe("loading a checkpoint with its tokenizer in one call", () => {
  it("TextModel.load(folder) and TextModel.fromFiles(bytes) give the same text as the model in hand", async () => {
    const directory = await mkdtemp(join(tmpdir(), "minimind-text-"));
    try {
      await model.savePretrained(directory);
      // no tokenizer files and a 6400-token vocabulary: MiniMind's bundled tokenizer
      const loaded = await TextModel.load(directory);
      const expected = await text.generate("学而", { maxNewTokens: 12, ...never });
      expect(await loaded.generate("学而", { maxNewTokens: 12, ...never })).toBe(expected);
      expect(loaded.model.training).toBe(false);
      loaded.dispose();
      const { readFile } = await import("node:fs/promises");
      const fromFiles = await TextModel.fromFiles({
        config: await readFile(join(directory, "config.json"), "utf8"),
        weights: new Uint8Array(await readFile(join(directory, "model.safetensors"))).buffer,
      });
      expect(await fromFiles.generate("学而", { maxNewTokens: 12, ...never })).toBe(expected);
      fromFiles.dispose();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("ChatSession", () => {
  const options = { maxNewTokens: 6, ...never };

  /** The reply a fresh model gives to the whole conversation so far (no cache kept between calls). */
  async function freshReply(messages: ChatMessage[], mask: "causal" | "segments" | "prefix"): Promise<string> {
    return (await text.generate(messages, { ...options, mask })).trim();
  }

  for (const mask of ["causal", "segments", "prefix"] as const) {
    it(`${mask}: turn 2 ${mask === "prefix" ? "recomputes the history" : "reuses turn 1's cache"} and answers as a fresh run`, async () => {
      const session = new ChatSession(text, { system: "You are terse.", mask, ...options });
      try {
        const first = (await collect(session.send("学而时习之"))).join("");
        expect(session.lastTurn?.reusedTokens).toBe(0);
        expect(session.messages.map((message) => message.role)).toEqual(["system", "user", "assistant"]);
        expect(session.messages[2]?.content).toBe(first.trim());
        const history = [...session.messages, { role: "user", content: "不亦说乎" }];
        const second = (await collect(session.send("不亦说乎"))).join("");
        const turn = session.lastTurn;
        if (mask === "prefix") {
          expect(turn?.cacheReused).toBe(false); // a prefix over the whole history changes what turn 1 saw
          expect(turn?.reusedTokens).toBe(0);
        } else {
          expect(turn?.cacheReused).toBe(true);
          expect(turn?.reusedTokens).toBeGreaterThan(10);
        }
        expect(second.trim()).toBe(await freshReply(history, mask));
        session.reset();
        expect(session.messages).toEqual([{ role: "system", content: "You are terse." }]);
        expect(session.cachedTokens).toBe(0);
      } finally {
        session.dispose();
      }
    });
  }

  it("thinking on keeps <think>…</think> out of the content", async () => {
    const session = new ChatSession(text, { thinking: true, ...options, maxNewTokens: 4 });
    try {
      await collect(session.send("你好"));
      const reply = session.messages[1] as ChatMessage;
      expect(reply.role).toBe("assistant");
      expect(String(reply.content)).not.toContain("</think>");
    } finally {
      session.dispose();
    }
  });
});
