import { readFileSync } from "node:fs";
import { Tokenizer } from "@minimind/tokenizer";
import { describe, expect, it } from "vitest";
import { DataLoader } from "./loader.js";
import { PackedDataset } from "./packing.js";
import { PretrainDataset } from "./pretrain-dataset.js";
import { recordsFromArray } from "./sample.js";
import { SFTDataset, UPSTREAM_SYSTEM_PROMPTS } from "./sft-dataset.js";
import { corpus, temporaryDirectory, writeJsonLines } from "./test-support/tiny.js";

const tokenizer = Tokenizer.minimind();

describe("PretrainDataset", () => {
  it("builds bos + tokens + eos, truncating the text to maxSeqLen − 2 tokens", () => {
    const text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。";
    const tokens = tokenizer.encode(text);
    const dataset = new PretrainDataset(recordsFromArray([{ text }]), { tokenizer, maxSeqLen: 8 });
    const sample = dataset.sample(0, 0);
    expect([...sample.inputIds]).toEqual([1, ...tokens.slice(0, 6), 2]);
    expect([...sample.labels]).toEqual([1, ...tokens.slice(0, 6), 2]);
    const whole = new PretrainDataset(recordsFromArray([{ text }]), { tokenizer, maxSeqLen: 340 }).sample(0, 0);
    expect([...whole.inputIds]).toEqual([1, ...tokens, 2]);
  });

  it("reads a JSONL file, skipping and counting bad lines with onBadLine: skip, or failing on them", async () => {
    const directory = temporaryDirectory();
    const file = writeJsonLines(directory, "pretrain.jsonl", [{ text: "a" }, { txt: "b" }, { text: "c" }, { text: 3 }]);
    const reported: string[] = [];
    const dataset = await PretrainDataset.fromFile(file, {
      tokenizer,
      onBadLine: "skip",
      report: (badLine) => reported.push(`${badLine.line}: ${badLine.reason}`),
    });
    expect(dataset.length).toBe(2);
    expect(reported).toEqual([
      '2: field "text" is missing; expected a string',
      '4: field "text" is number; expected a string',
    ]);
    expect(tokenizer.decode([...dataset.sample(1, 0).inputIds].slice(1, -1))).toBe("c");
    await expect(PretrainDataset.fromFile(file, { tokenizer })).rejects.toThrow(
      `${file}:2 (byte 13): field "text" is missing`,
    );
  });
});

interface ChatFixture {
  messages: { role: string }[];
  tools?: unknown[];
  add_generation_prompt?: boolean;
  open_thinking?: boolean;
  ids: number[];
  sft_labels: number[];
}

describe("SFTDataset", () => {
  const fixtures = readFileSync(new URL("../../../../shared/fixtures/tokenizer/chat.jsonl", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as ChatFixture)
    .filter((fixture) => !fixture.add_generation_prompt && !fixture.open_thinking);

  it("gives the fixture's ids and sft_labels for every training conversation (augmentations off)", () => {
    expect(fixtures.length).toBe(4);
    const records = fixtures.map((fixture) => ({
      conversations: fixture.messages,
      ...(fixture.tools ? { tools: fixture.tools } : {}),
    }));
    const dataset = new SFTDataset(recordsFromArray(records), {
      tokenizer,
      maxSeqLen: 1024,
      addSystemRatio: 0,
      emptyThinkRatio: 1,
    });
    fixtures.forEach((fixture, index) => {
      const sample = dataset.sample(index, 0);
      expect([...sample.inputIds]).toEqual(fixture.ids);
      expect([...sample.labels]).toEqual(fixture.sft_labels);
      expect(sample.roles.length).toBe(fixture.ids.length);
    });
  });

  it("truncates to maxSeqLen with the labels of the truncated ids (an open answer runs to the end)", () => {
    const fixture = fixtures[1] as ChatFixture;
    const dataset = new SFTDataset(recordsFromArray([{ conversations: fixture.messages }]), {
      tokenizer,
      maxSeqLen: fixture.ids.length - 3,
      addSystemRatio: 0,
      emptyThinkRatio: 1,
    });
    const sample = dataset.sample(0, 0);
    expect([...sample.inputIds]).toEqual(fixture.ids.slice(0, -3));
    expect([...sample.labels]).toEqual(fixture.sft_labels.slice(0, -3));
  });

  it("adds a system prompt to ~20 % and strips the empty think block from ~80 %, seeded per epoch", () => {
    const records = Array.from({ length: 2000 }, (_, index) => ({
      conversations: [
        { role: "user", content: `问题${index}` },
        { role: "assistant", content: "回答" },
      ],
    }));
    const dataset = new SFTDataset(recordsFromArray(records), { tokenizer, seed: 5 });
    let withSystem = 0;
    let stripped = 0;
    for (let index = 0; index < records.length; index++) {
      const text = dataset.render(index, 0);
      if (text.startsWith("<|im_start|>system\n")) {
        withSystem++;
        expect(UPSTREAM_SYSTEM_PROMPTS.some((prompt) => text.includes(prompt))).toBe(true);
      }
      if (!text.includes("<think>")) stripped++;
    }
    expect(withSystem / records.length).toBeGreaterThan(0.17);
    expect(withSystem / records.length).toBeLessThan(0.23);
    expect(stripped / records.length).toBeGreaterThan(0.77);
    expect(stripped / records.length).toBeLessThan(0.83);
    expect(dataset.render(17, 3)).toBe(new SFTDataset(recordsFromArray(records), { tokenizer, seed: 5 }).render(17, 3));
    const epochs = Array.from({ length: 40 }, (_, epoch) => dataset.render(3, epoch));
    expect(new Set(epochs).size).toBeGreaterThan(1);
  });

  it("keeps tool conversations as they are and names the record at fault", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: {} } }];
    const dataset = new SFTDataset(
      recordsFromArray([
        {
          conversations: [
            { role: "system", content: "s", tools: JSON.stringify(tools) },
            { role: "user", content: "u" },
          ],
        },
        { conversations: [{ role: 3 }] },
      ]),
      { tokenizer, addSystemRatio: 1 },
    );
    const text = dataset.render(0, 0);
    expect(text).toContain('"name": "f"');
    expect(text.startsWith("<|im_start|>system\ns")).toBe(true);
    expect(() => dataset.sample(1, 0)).toThrow("[SFTDataset] records[1]: conversations[0].role is number");
  });
});

describe("PackedDataset", () => {
  const texts = corpus(30);
  const documents = new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), {
    tokenizer,
    maxSeqLen: 64,
  });

  it("lays whole documents end to end, positions restarting per document, first labels ignored", () => {
    const packed = new PackedDataset(documents, { maxSeqLen: 64 });
    let seen = 0;
    for (let row = 0; row < packed.length; row++) {
      const [first, end] = packed.documentsOfRow(row);
      expect(first).toBe(seen);
      seen = end;
      const sample = packed.sample(row, 0);
      expect(sample.inputIds.length).toBeLessThanOrEqual(64);
      let offset = 0;
      for (let document = first; document < end; document++) {
        const alone = documents.sample(document, 0);
        const size = alone.inputIds.length;
        expect([...sample.inputIds.subarray(offset, offset + size)]).toEqual([...alone.inputIds]);
        expect([...(sample.positionIds as Int32Array).subarray(offset, offset + size)]).toEqual(
          Array.from({ length: size }, (_, position) => position),
        );
        expect([...(sample.documentIds as Int32Array).subarray(offset, offset + size)]).toEqual(
          new Array(size).fill(document - first),
        );
        expect([...sample.labels.subarray(offset, offset + size)]).toEqual([-100, ...alone.labels.subarray(1)]);
        offset += size;
      }
      expect(offset).toBe(sample.inputIds.length);
      // A row is closed only when the next document would not fit.
      if (end < documents.length) expect(offset + documents.sample(end, 0).inputIds.length).toBeGreaterThan(64);
    }
    expect(seen).toBe(30);
  });
});

describe("DataLoader", () => {
  const texts = corpus(10);
  const dataset = new PretrainDataset(recordsFromArray(texts.map((text) => ({ text }))), { tokenizer, maxSeqLen: 64 });

  it("visits every row once per epoch in a seeded order, pads to the longest row, counts targets", () => {
    const loader = new DataLoader(dataset, { batchSize: 4, seed: 3 });
    expect(loader.batchesIn(0)).toBe(3);
    const seen = [...loader.batches(1)].flatMap((position) => loader.indicesOf(position));
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const epochOne = [...loader.batches(2, { epoch: 1, batch: 0 })].flatMap((position) => loader.indicesOf(position));
    expect(epochOne).not.toEqual(seen);
    expect(new DataLoader(dataset, { batchSize: 4, seed: 3 }).indicesOf({ epoch: 1, batch: 2 })).toEqual(
      epochOne.slice(8),
    );

    const batch = loader.batch({ epoch: 0, batch: 0 });
    const lengths = batch.indices.map((index) => dataset.sample(index, 0).inputIds.length);
    const width = Math.max(...lengths);
    batch.inputIds.forEach((row, position) => {
      expect(row.length).toBe(width);
      const length = lengths[position] as number;
      expect(row.slice(length)).toEqual(new Array(width - length).fill(0));
      expect((batch.labels[position] as number[]).slice(length)).toEqual(new Array(width - length).fill(-100));
    });
    expect(batch.tokens).toBe(lengths.reduce((sum, length) => sum + length, 0));
    expect(batch.targets).toBe(lengths.reduce((sum, length) => sum + length - 1, 0));
  });

  it("resumes from a position with the same batches", () => {
    const loader = new DataLoader(dataset, { batchSize: 3, seed: 9 });
    const all = [...loader.batches(3)];
    const resumed = [...new DataLoader(dataset, { batchSize: 3, seed: 9 }).batches(3, all[5])];
    expect(resumed).toEqual(all.slice(5));
    expect(() => loader.indicesOf({ epoch: 0, batch: 4 })).toThrow("batch 4 is outside epoch 0's 4 batches");
  });
});
