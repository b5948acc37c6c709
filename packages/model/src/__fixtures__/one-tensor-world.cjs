// Run by one-tensor-world.test.ts with plain Node from packages/model, against the built packages: CommonJS
// code that `require`s @minimind/tensor beside the ES-module model (issue #16). Prints one JSON line of facts;
// the test judges them. Not a test by itself.
const required = require("@minimind/tensor");

async function main() {
  const imported = await import("@minimind/tensor");
  const { MiniMindForCausalLM, createMiniMindConfig } = await import("@minimind/model");
  const config = createMiniMindConfig({
    hidden_size: 32,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    num_hidden_layers: 2,
    intermediate_size: 64,
    vocab_size: 64,
    max_position_embeddings: 64,
  });
  const model = new MiniMindForCausalLM(config, { seed: 1 }).eval();
  // An int32 tensor made by the required copy, given to the imported model.
  const inputIds = required.tensor([[1, 2, 3, 4]], { dtype: "int32" });
  let accepted = false;
  // A first pass creates what the model keeps for later ones (rotary tables); count from after it.
  required.scope(() => {
    model.forward({ inputIds });
  });
  const before = required.memory().tensors;
  const logitsShape = required.scope(() => {
    const { logits } = model.forward({ inputIds });
    accepted = true;
    return [...logits.shape];
  });
  const afterScope = required.memory().tensors;
  // Outside a scope the forward pass's tensors live on; a scope opened through `import` must free them too.
  imported.scope(() => {
    model.forward({ inputIds });
  });
  const afterImportedScope = imported.memory().tensors;
  // Unscoped, the same pass leaves its tensors alive: the count sees the model's tensors.
  model.forward({ inputIds });
  const afterUnscoped = required.memory().tensors;
  console.log(
    JSON.stringify({
      sameModule: required.Tensor === imported.Tensor && required.scope === imported.scope,
      sameBackend: required.getBackend() === imported.getBackend(),
      backend: required.getBackend().name,
      accepted,
      logitsShape,
      before,
      afterScope,
      afterImportedScope,
      afterUnscoped,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
