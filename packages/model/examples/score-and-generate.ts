import { createMiniMindConfig, MiniMindForCausalLM } from "@minimind/model";
import { add, noGrad, scope } from "@minimind/tensor";

// A checkpoint folder (config.json + model.safetensors) to load: here a small random model, saved.
const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const random = new MiniMindForCausalLM(config, { seed: 0 });
await random.savePretrained("checkpoint");
random.dispose();

// training: true keeps dropout and the MoE aux loss on (fromPretrained returns an eval-mode model otherwise).
const model = await MiniMindForCausalLM.fromPretrained("checkpoint", { training: true });
const inputIds = [[1, 320, 275, 2401, 5]];

const loss = scope(() => {
  const { loss, auxLoss } = model.forward({ inputIds, labels: inputIds });
  if (loss === undefined) throw new Error("a loss comes with labels");
  const total = add(loss, auxLoss);
  total.backward(); // fills .grad of every parameter in model.namedParameters()
  return total.item();
});
console.log("loss", loss, "embedding grad", model.namedParameters().get("model.embed_tokens.weight")?.grad?.shape);

const logits = scope(() => noGrad(() => model.forward({ inputIds, logitsToKeep: 1 }).logits.dataSync()));
console.log("next-token logits", logits.length); // one per vocabulary entry
console.log("greedy continuation", await model.generate(inputIds, { maxNewTokens: 8 }));
model.dispose();
