/**
 * Test helper: a model folder whose answers are known in advance — a one-layer MiniMind whose weights are
 * set by hand (no training) so that it continues each prompt with a scripted text, whatever the sampling
 * settings: its next token depends only on the last two tokens, and every scripted (previous, current) pair
 * maps to one next token with a margin of tens of logits. That lets the server tests check exact answers,
 * reasoning_content and tool calls through real generation. Test-only: not exported from the package.
 *
 * How: embeddings = a one-hot identity (for the scripted tokens; random unit vectors for the rest) plus a
 * constant "bias" dimension. Attention: the query and key read only the bias dimension, so they are the same
 * for every token, and the key is the query rotated by one position's RoPE angle in every frequency pair — the
 * score peaks at distance 1, so each position attends to the token before it; the value copies that token's
 * identity into a "previous" slot of the residual. The MLP is zero. The head scores each next token by how
 * well the normalised residual (current identity + previous identity) matches the pairs scripted to it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createMiniMindConfig, miniMindConfigToJson, parameterShapes } from "@minimind/model";
import { writeSafetensors } from "@minimind/model/safetensors";
import { Tokenizer } from "@minimind/tokenizer";

const IDENTITY = 64; // dims 0..63: the current token
const BIAS = IDENTITY; // dim 64: the same for every token
const PREVIOUS = IDENTITY + 2; // dims 66..129: the previous token (copied by attention)
const HIDDEN = PREVIOUS + IDENTITY;
const HEAD_DIM = 64;
const ROPE_THETA = 10;
const QK_GAIN = 8; // q_norm / k_norm weights: attention scores far apart (distance 1 wins by ~50 nats)
const HEAD_GAIN = 10; // logit scale of the head

/** The answers a scripted model gives: without thinking, and with the `<think>` block opened. */
export const SCRIPTED_ANSWER = '你好！<tool_call>{"name": "get_weather", "arguments": {"city":"北京"}}</tool_call>';
export const SCRIPTED_THINKING_ANSWER = "先查天气。</think>好的。";

/** A seeded uniform generator (mulberry32), so the weights are the same on every run. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes config.json and model.safetensors of a scripted model into `folder` (MiniMind's tokenizer, bundled,
 * is used: no tokenizer files). Returns the folder.
 */
export function writeScriptedModel(folder: string): string {
  const tokenizer = Tokenizer.minimind();
  const vocab = tokenizer.vocabularySize;
  const eos = 2;
  const chat = (thinking: boolean) =>
    tokenizer.encodeChat([{ role: "user", content: "?" }], { addGenerationPrompt: true, openThinking: thinking }).ids;
  // Each script: the prompt's last two tokens (the chat template's ending), then the answer and <|im_end|>.
  const scripts = [
    [...chat(false).slice(-2), ...tokenizer.encode(SCRIPTED_ANSWER), eos],
    [...chat(true).slice(-2), ...tokenizer.encode(SCRIPTED_THINKING_ANSWER), eos],
  ];
  const next = new Map<string, number>();
  const sources = new Set<number>();
  for (const script of scripts) {
    for (let index = 2; index < script.length; index++) {
      const pair = `${script[index - 2]},${script[index - 1]}`;
      const token = script[index] as number;
      if (next.has(pair) && next.get(pair) !== token) throw new Error(`scripted model: pair ${pair} is ambiguous`);
      next.set(pair, token);
      sources.add(script[index - 2] as number).add(script[index - 1] as number);
    }
  }
  if (sources.size > IDENTITY) throw new Error(`scripted model: ${sources.size} tokens need one-hot identities`);

  // Identities: one-hot for scripted tokens, random unit vectors for the rest.
  const random = uniform(17);
  const identity = new Float32Array(vocab * IDENTITY);
  const oneHot = new Map([...sources].map((token, index) => [token, index]));
  for (let token = 0; token < vocab; token++) {
    const row = identity.subarray(token * IDENTITY, (token + 1) * IDENTITY);
    const slot = oneHot.get(token);
    if (slot !== undefined) {
      row[slot] = 1;
      continue;
    }
    let norm = 0;
    for (let dim = 0; dim < IDENTITY; dim++) {
      row[dim] = random() * 2 - 1;
      norm += (row[dim] as number) ** 2;
    }
    for (let dim = 0; dim < IDENTITY; dim++) row[dim] = (row[dim] as number) / Math.sqrt(norm);
  }

  const config = createMiniMindConfig({
    hidden_size: HIDDEN,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    num_key_value_heads: 1,
    head_dim: HEAD_DIM,
    intermediate_size: 8,
    vocab_size: vocab,
    max_position_embeddings: 1024,
    rope_theta: ROPE_THETA,
    tie_word_embeddings: false,
  });
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of parameterShapes(config)) {
    weights.set(name, new Float32Array(shape.reduce((product, size) => product * size, 1)));
  }
  const weight = (name: string) => weights.get(name) as Float32Array;
  const embedding = weight("model.embed_tokens.weight");
  for (let token = 0; token < vocab; token++) {
    embedding.set(identity.subarray(token * IDENTITY, (token + 1) * IDENTITY), token * HIDDEN);
    embedding[token * HIDDEN + BIAS] = 1;
  }
  // Every embedding has norm √2 over HIDDEN dims, so the input norm scales it by rms⁻¹ = √(HIDDEN / 2).
  const inputScale = Math.sqrt(HIDDEN / 2);
  weight("model.layers.0.input_layernorm.weight").fill(1);
  weight("model.layers.0.post_attention_layernorm.weight").fill(1);
  // Query: 1 in the first element of every RoPE pair (element k pairs with k + HEAD_DIM/2); key: that vector
  // rotated by one position's angle, so q·k at distance Δ is Σ cos((Δ − 1)·f).
  const half = HEAD_DIM / 2;
  const query = weight("model.layers.0.self_attn.q_proj.weight");
  const key = weight("model.layers.0.self_attn.k_proj.weight");
  for (let pair = 0; pair < half; pair++) {
    const frequency = 1 / ROPE_THETA ** ((2 * pair) / HEAD_DIM);
    query[pair * HIDDEN + BIAS] = 1;
    key[pair * HIDDEN + BIAS] = Math.cos(frequency);
    key[(pair + half) * HIDDEN + BIAS] = Math.sin(frequency);
  }
  weight("model.layers.0.self_attn.q_norm.weight").fill(QK_GAIN);
  weight("model.layers.0.self_attn.k_norm.weight").fill(QK_GAIN);
  // Value: the identity, undoing the input norm's scale; output: into the "previous" slot.
  const value = weight("model.layers.0.self_attn.v_proj.weight");
  const output = weight("model.layers.0.self_attn.o_proj.weight");
  for (let dim = 0; dim < IDENTITY; dim++) {
    value[dim * HIDDEN + dim] = 1 / inputScale;
    output[(PREVIOUS + dim) * HEAD_DIM + dim] = 1;
  }
  // Final norm: the bias dimension is left out of the head's view.
  const norm = weight("model.norm.weight");
  norm.fill(1);
  norm[BIAS] = 0;
  // Head: each next token's row is the sum of the unit residuals (current + previous) scripted to it.
  const head = weight("lm_head.weight");
  for (const [pair, token] of next) {
    const [previous, current] = pair.split(",").map(Number) as [number, number];
    const row = head.subarray(token * HIDDEN, (token + 1) * HIDDEN);
    const scale = HEAD_GAIN / Math.sqrt(2);
    for (let dim = 0; dim < IDENTITY; dim++) {
      row[dim] = (row[dim] as number) + scale * (identity[current * IDENTITY + dim] as number);
      row[PREVIOUS + dim] = (row[PREVIOUS + dim] as number) + scale * (identity[previous * IDENTITY + dim] as number);
    }
  }
  const tensors = new Map(
    [...parameterShapes(config)].map(([name, shape]) => [
      name,
      { dtype: "F32" as const, shape: [...shape], data: weights.get(name) as Float32Array },
    ]),
  );
  writeFileSync(join(folder, "config.json"), `${JSON.stringify(miniMindConfigToJson(config), null, 2)}\n`);
  writeFileSync(join(folder, "model.safetensors"), writeSafetensors(tensors));
  return folder;
}
