import { BpeTrainer, IGNORE_INDEX, Tokenizer } from "@minimind/tokenizer";

const tokenizer = Tokenizer.minimind(); // MiniMind's 6,400-token vocabulary, shipped in the package

const ids = tokenizer.encode("床前明月光，疑是地上霜。");
console.log(ids); // [5351, 938, 851, 1728, 1221, 294, 4755, 357, 553, 562, 506, 286, 302]
console.log(tokenizer.decode(ids)); // 床前明月光，疑是地上霜。

// Chat template, rendered as transformers renders it
const messages = [
  { role: "system", content: "你是minimind，一个小巧但有用的语言模型。" },
  { role: "user", content: "法国的首都是哪里？" },
  { role: "assistant", content: "巴黎" },
];
console.log(tokenizer.applyChatTemplate(messages.slice(0, 2), { addGenerationPrompt: true }));

// SFT: ids, MiniMind's loss labels and per-token roles/turns in one call
const chat = tokenizer.encodeChat(messages);
const trained = chat.labels.filter((label) => label !== IGNORE_INDEX);
console.log(JSON.stringify(tokenizer.decode(trained))); // "<think>\n\n</think>\n\n巴黎<|im_end|>\n"
console.log(chat.roles.slice(0, 6).join(" "), chat.segments.slice(0, 6).join(" "));
// template template template template system system 0 0 0 0 0 0

// Train a small vocabulary the way MiniMind's train_tokenizer.py does
const trainer = new BpeTrainer({ vocabularySize: 300 });
for (const line of ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"]) trainer.feed(line);
const { tokenizerJson, tokenizerConfig } = trainer.train();
const small = new Tokenizer(tokenizerJson, tokenizerConfig);
console.log(small.vocabularySize, small.decode(small.encode("花落知多少"))); // 300 花落知多少
