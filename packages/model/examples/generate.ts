import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";

const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const model = new MiniMindForCausalLM(config, { seed: 0 });
const prompt = [1, 320, 275, 2401, 5];

console.log("greedy ", (await model.generate([prompt], { maxNewTokens: 8 }))[0]);
const sampling = { maxNewTokens: 8, doSample: true, temperature: 0.8, topK: 50, topP: 0.9, repetitionPenalty: 1.1 };
console.log("sampled", (await model.generate([prompt], { ...sampling, seed: 42 }))[0]); // same seed → same ids

// Rows of different lengths: left-padded internally; each row equals its own single-row run.
console.log("batch  ", await model.generate([prompt, [1, 7]], { maxNewTokens: 4 }));

// Stream with a stop string (any id → text function works as `decode`) and a time limit.
const decode = (ids: readonly number[]) => ids.map((id) => `<${id}>`).join("");
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), 5_000);
try {
  const options = { ...sampling, maxNewTokens: 64, seed: 1, signal: controller.signal, stopStrings: ["<2>"], decode };
  for await (const [ids = []] of model.stream([prompt], options)) process.stdout.write(`${ids.join(" ")} `);
  console.log();
} catch (error) {
  if ((error as Error).name !== "AbortError") throw error; // an abort throws signal.reason
} finally {
  clearTimeout(timer);
}
model.dispose();
