/**
 * Browser entry for text-model-browser.test.ts, run in headless Chromium by @minimind/chromium-harness: loads a
 * checkpoint folder and its tokenizer from URLs in one call (`TextModel.fromUrl`), then for each prompt streams
 * greedy text and also returns the greedy ids, so the Node side can compare them with its own run. Not a test.
 */
import { TextModel } from "../src/text-model.js";

export interface BrowserTextRun {
  prompt: string;
  chunks: string[];
  ids: number[];
  decoded: string;
}

export async function main(args: {
  folder: string;
  prompts: string[];
  maxNewTokens: number;
}): Promise<BrowserTextRun[]> {
  const text = await TextModel.fromUrl(
    new URL(args.folder, (globalThis as unknown as { location: { href: string } }).location.href),
  );
  const runs: BrowserTextRun[] = [];
  for (const prompt of args.prompts) {
    const options = { maxNewTokens: args.maxNewTokens, eosTokenId: [] as number[] };
    const chunks: string[] = [];
    for await (const chunk of text.stream(prompt, options)) chunks.push(chunk);
    const ids = (await text.model.generate([text.tokenizer.encode(prompt)], options))[0] as number[];
    runs.push({ prompt, chunks, ids, decoded: text.tokenizer.decode(ids, { skipSpecialTokens: true }) });
  }
  text.model.dispose();
  return runs;
}
