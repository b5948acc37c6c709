import { memory, scope } from "@minimind/tensor";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createMiniMindConfig } from "./config.js";
import { MiniMindForCausalLM } from "./model.js";

const config = createMiniMindConfig({
  hidden_size: 32,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 64,
  vocab_size: 64,
  max_position_embeddings: 64,
});
const inputIds = [[1, 2, 3, 4]];

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("forward outside a scope", () => {
  it("warns once per model, in development, naming the tensors it left alive", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const model = new MiniMindForCausalLM(config, { seed: 1 }).eval();
    scope(() => {
      model.forward({ inputIds }); // first pass: creates what the model keeps (rotary tables)
    });
    expect(warn).not.toHaveBeenCalled();
    const before = memory().tensors;
    const { logits, auxLoss } = model.forward({ inputIds });
    const left = memory().tensors - before - 2; // besides logits and auxLoss
    expect(left).toBeGreaterThan(100);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toContain(`forward() ran outside scope() and left ${left} intermediate tensors`);
    model.forward({ inputIds });
    expect(warn).toHaveBeenCalledTimes(1);
    // another model warns on its own first unscoped call
    new MiniMindForCausalLM(config, { seed: 2 }).eval().forward({ inputIds });
    expect(warn).toHaveBeenCalledTimes(2);
    logits.dispose();
    auxLoss.dispose();
  });

  it("stays silent inside a scope and when NODE_ENV is production", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const model = new MiniMindForCausalLM(config, { seed: 1 }).eval();
    scope(() => {
      model.forward({ inputIds, labels: inputIds });
    });
    vi.stubEnv("NODE_ENV", "production");
    model.forward({ inputIds });
    expect(warn).not.toHaveBeenCalled();
  });
});
