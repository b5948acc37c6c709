import { prefixLM, segments } from "@minimind/attention";
import { createMiniMindConfig, type ForwardOptions, MiniMindForCausalLM } from "@minimind/model";
import { noGrad, scope } from "@minimind/tensor";

const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const model = new MiniMindForCausalLM(config, { seed: 0 }).eval();
const turn1 = [1, 320, 275, 2401, 5, 913, 44, 2]; // a prompt of 5 tokens, then the answer's 3
const turn1Vector = [1, 0, 0, 0, 0, 1, 1, 1]; // 1 starts a segment: the prompt bidirectional, the answer causal
const turn2 = [1, 77, 3021, 404, 18, 2];
const turn2Vector = [1, 0, 0, 1, 1, 1];
const history = segments([...turn1Vector, ...turn2Vector]);

const cache = model.createCache();
const logits = (options: ForwardOptions) =>
  scope(() => noGrad(() => Array.from(model.forward(options).logits.dataSync())));
logits({ inputIds: [turn1], cache, attention: segments(turn1Vector) });
const reused = logits({ inputIds: [turn2], cache, attention: history }); // turn 2 on turn 1's cache
const recomputed = logits({ inputIds: [[...turn1, ...turn2]], attention: history, logitsToKeep: turn2.length });
console.log("reused vs recomputed, max |Δ|", Math.max(...reused.map((x, i) => Math.abs(x - (recomputed[i] ?? 0)))));

try {
  model.forward({ inputIds: [[9, 9]], cache, attention: prefixLM(cache.length + 3) });
} catch (error) {
  console.log((error as Error).message);
  // [KeyValueCache] strategy "prefixLM(…)" refuses a chunk […): cached token 0 (batch row 0) attends key …: the
  // strategy changed what an earlier token sees, so the cache cannot be reused — recompute the history without it.
}
console.log("cached tokens", cache.length); // 14: the refused chunk was not appended
cache.dispose();
model.dispose();
