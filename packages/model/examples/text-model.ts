import { ChatSession, createMiniMindConfig, MiniMindForCausalLM, TextModel } from "@minimind/model";

// A checkpoint folder to load: here a small random model (MiniMind's 6,400-token vocabulary), saved.
const config = createMiniMindConfig({ hidden_size: 64, num_hidden_layers: 2 });
const random = new MiniMindForCausalLM(config, { seed: 0 });
await random.savePretrained("checkpoint");
random.dispose();

const text = await TextModel.load("checkpoint"); // config.json + weights (+ tokenizer.json, else MiniMind's)
console.log(await text.generate("床前明月光，", { maxNewTokens: 16, stop: ["。"] }));
for await (const chunk of text.stream([{ role: "user", content: "你好" }], { maxNewTokens: 32, thinking: false })) {
  process.stdout.write(chunk); // whole characters only: an emoji split across tokens arrives in one piece
}
const chat = new ChatSession(text, { system: "You are terse.", mask: "segments", maxNewTokens: 64 });
for await (const chunk of chat.send("学而时习之，下一句？")) process.stdout.write(chunk);
for await (const chunk of chat.send("谁说的？")) process.stdout.write(chunk);
console.log(chat.lastTurn); // { reusedTokens, newPromptTokens, generatedTokens, cacheReused: true }
chat.dispose();
text.dispose();
