/**
 * The text API in headless Chromium (issue #16): `TextModel.fromUrl` loads the dense-tiny checkpoint folder with
 * MiniMind's tokenizer files from URLs in one call, and streams text equal, chunk by chunk, to the decoded greedy
 * ids — the same ids and chunks as the same model in Node — with no U+FFFD from characters split across tokens,
 * for emoji and CJK prompts. Skips visibly where Chromium is missing, except under CI, which installs it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromiumSkipReason, runInChromium } from "@minimind/chromium-harness";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import type { BrowserTextRun } from "../test-support/text-model.browser.js";
import { configOf, fixtures, readTensors } from "./__fixtures__/parity.js";
import { MiniMindForCausalLM } from "./model.js";
import { TextModel } from "./text-model.js";

const skipReason = chromiumSkipReason("TextModel in Chromium");
const entry = fileURLToPath(new URL("../test-support/text-model.browser.ts", import.meta.url));
const tokenizerData = new URL("../../tokenizer/data/", import.meta.url);
const prompts = ["😀 龘 ", "学而时习之，不亦说乎？", "🎉🎉 你好"];
const maxNewTokens = 16;

const replacements = (value: string) => value.split("\ufffd").length - 1;

describe("TextModel.fromUrl in Chromium", () => {
  it.skipIf(skipReason !== "")("streams text equal chunk by chunk to the decoded greedy ids", async () => {
    const { result } = await runInChromium({
      entry,
      timeoutMs: 300_000,
      args: { folder: "/files/dense-tiny/", prompts, maxNewTokens },
      files: {
        "dense-tiny/config.json": readFileSync(new URL("dense-tiny/config.json", fixtures)),
        "dense-tiny/model.safetensors": readFileSync(new URL("dense-tiny/model.safetensors", fixtures)),
        "dense-tiny/tokenizer.json": readFileSync(new URL("tokenizer.json", tokenizerData)),
        "dense-tiny/tokenizer_config.json": readFileSync(new URL("tokenizer_config.json", tokenizerData)),
      },
    });
    const runs = result as BrowserTextRun[];
    expect(runs.map((run) => run.prompt)).toEqual(prompts);

    const model = MiniMindForCausalLM.fromStateDict(
      configOf("dense-tiny"),
      readTensors("dense-tiny", "model.safetensors"),
      "dense-tiny",
    ).eval();
    const tokenizer = Tokenizer.minimind();
    const text = new TextModel(model, tokenizer);
    try {
      for (const run of runs) {
        const options = { maxNewTokens, eosTokenId: [] as number[] };
        const ids = (await model.generate([tokenizer.encode(run.prompt)], options))[0] as number[];
        const chunks: string[] = [];
        for await (const chunk of text.stream(run.prompt, options)) chunks.push(chunk);
        const expected = tokenizer.decode(ids, { skipSpecialTokens: true });
        // the browser's greedy ids, decoded by Node's tokenizer, are the streamed text, chunk for chunk as in Node
        expect(run.ids).toEqual(ids);
        expect(run.decoded).toBe(expected);
        expect(run.chunks.join("")).toBe(expected);
        expect(run.chunks).toEqual(chunks);
        // a character split across tokens arrives whole: no chunk holds a U+FFFD the full text does not
        expect(run.chunks.reduce((sum, chunk) => sum + replacements(chunk), 0)).toBe(replacements(expected));
      }
    } finally {
      model.dispose();
    }
  });
});
