/**
 * The experiment's scoring end to end: a tiny model drilled on one answer must reproduce it greedily (exact
 * match 1, low answer loss) under the causal mask, an untrained one must not, and a held-out row cut short by
 * maxSeqLen is refused rather than scored on part of its answer.
 */
import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { examplesFrom, greedyAnswerIds, scoreTask } from "./experiment-evaluate.js";
import { recordsFromArray } from "./sample.js";
import { SFTDataset } from "./sft-dataset.js";
import { sft } from "./trainer.js";

const tokenizer = Tokenizer.minimind();
const record = {
  conversations: [
    { role: "user", content: "「床前明月光」的下一句是什么？" },
    { role: "assistant", content: "疑是地上霜" },
  ],
};
const datasetOf = (maxSeqLen: number) =>
  new SFTDataset(recordsFromArray([record]), { tokenizer, maxSeqLen, addSystemRatio: 0, emptyThinkRatio: 0 });
const config = createMiniMindConfig({
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 256,
});

describe("scoreTask", () => {
  it("gives exact match 1 to a model that learned the answer, 0 to one that did not", async () => {
    const examples = examplesFrom(datasetOf(64), ["疑是地上霜"], tokenizer.eosTokenId ?? 2, "qa");
    // "疑是地上霜" + <|im_end|> + "\n", counted from the text, not by the code under test.
    expect(examples[0]?.answerTokens).toBe(tokenizer.encode("疑是地上霜<|im_end|>\n").length);
    const untrained = new MiniMindForCausalLM(config, { seed: 5 });
    expect(scoreTask(untrained, tokenizer, examples, "causal").exactMatch).toBe(0);
    untrained.dispose();

    const model = new MiniMindForCausalLM(config, { seed: 5 });
    await sft({ model, dataset: datasetOf(64), epochs: 120, batchSize: 1, learningRate: 1e-2, handleSignals: false });
    const score = scoreTask(model, tokenizer, examples, "causal");
    expect(score.exactMatch).toBe(1);
    expect(score.answerLoss).toBeLessThan(0.5);
    const ids = greedyAnswerIds(model, examples[0] as (typeof examples)[number], "causal", {
      maxNewTokens: 10,
      endId: tokenizer.eosTokenId ?? 2,
    });
    expect(tokenizer.decode(ids)).toBe("疑是地上霜<|im_end|>");
    model.dispose();
  });

  it("refuses a held-out row whose answer maxSeqLen cut short", () => {
    expect(() => examplesFrom(datasetOf(24), ["疑是地上霜"], tokenizer.eosTokenId ?? 2, "qa")).toThrow(
      /held-out qa\[0\] does not fit in maxSeqLen 24 tokens/,
    );
  });
});
