/**
 * Browser entry: the PyTorch parity cases on the gpujs backend in a browser mode (webgl2 / webgpu), every
 * readback through `await tensor.data()` (the only one WebGPU has). The fixture files arrive as bytes from
 * src/gpujs-browser.test.ts (through @minimind/chromium-harness); the comparison happens here and only the
 * measured errors go back.
 */
import { add, noGrad, scope, setBackend, type Tensor } from "@minimind/tensor";
import type { GpuJsBackend, GpuJsMode } from "@minimind/tensor/gpujs";
import "@minimind/tensor/gpujs";
import { parseMiniMindConfig } from "../src/config.js";
import { MiniMindForCausalLM } from "../src/model.js";
import { readSafetensors, type SafetensorsTensor } from "../src/safetensors.js";

export interface BrowserCase {
  name: string;
  config: unknown;
  model: Uint8Array;
  io: Uint8Array;
}

export interface BrowserCaseResult {
  name: string;
  logits: number;
  loss: number;
  auxLoss: number;
  worstGradient: number;
  worstGradientName: string;
  /** Max |Δ| of KV-cached decode logits; null when the fixture has no decode data. */
  decode: number | null;
}

export interface BrowserParity {
  requested: string;
  actual: string;
  kernelModes: string[];
  results: BrowserCaseResult[];
  /** Greedy `stream` output of the generation case (left-padded batch of two prompts). */
  streamed: number[][];
}

function rows(entry: SafetensorsTensor | undefined): number[][] {
  if (entry === undefined || entry.dtype !== "I32") throw new Error("expected an I32 tensor");
  const [batch, length] = entry.shape as [number, number];
  return Array.from({ length: batch }, (_, row) => Array.from(entry.data.subarray(row * length, (row + 1) * length)));
}

function floats(entry: SafetensorsTensor | undefined): Float32Array {
  if (entry === undefined || entry.dtype !== "F32") throw new Error("expected an F32 tensor");
  return entry.data;
}

function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs((actual[index] as number) - (expected[index] as number));
    if (!(difference <= worst)) worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
  }
  return worst;
}

function maxMagnitude(values: ArrayLike<number>): number {
  let largest = 0;
  for (let index = 0; index < values.length; index++) largest = Math.max(largest, Math.abs(values[index] as number));
  return largest;
}

const read = async (tensor: Tensor) => Float32Array.from((await tensor.data()) as Float32Array);

async function runCase(testCase: BrowserCase): Promise<BrowserCaseResult> {
  const config = parseMiniMindConfig(testCase.config, `${testCase.name}/config.json`);
  const io = readSafetensors(testCase.io, { source: `${testCase.name}/io.safetensors` }).tensors;
  const weights = readSafetensors(testCase.model, { source: `${testCase.name}/model.safetensors` }).tensors;
  const inputIds = rows(io.get("input_ids"));
  const attentionMask = io.has("attention_mask") ? rows(io.get("attention_mask")) : undefined;
  const model = MiniMindForCausalLM.fromStateDict(config, weights, testCase.name);
  try {
    const outputs = scope(() => {
      const { logits, loss, auxLoss } = model.forward({
        inputIds,
        labels: rows(io.get("labels")),
        ...(attentionMask ? { attentionMask } : {}),
      });
      add(loss as Tensor, auxLoss).backward();
      return { logits: logits.detach(), loss: (loss as Tensor).detach(), auxLoss: auxLoss.detach() };
    });
    const result: BrowserCaseResult = {
      name: testCase.name,
      logits: maxDifference(await read(outputs.logits), floats(io.get("logits"))),
      loss: Math.abs(((await read(outputs.loss))[0] as number) - (floats(io.get("loss"))[0] as number)),
      auxLoss: Math.abs(((await read(outputs.auxLoss))[0] as number) - (floats(io.get("aux_loss"))[0] as number)),
      worstGradient: 0,
      worstGradientName: "",
      decode: null,
    };
    for (const tensor of Object.values(outputs)) tensor.dispose();
    for (const [parameterName, weight] of model.namedParameters()) {
      const expected = floats(io.get(`grad.${parameterName}`));
      const actual = weight.grad ? await read(weight.grad) : new Float32Array(expected.length);
      const error = maxDifference(actual, expected) / Math.max(maxMagnitude(expected), 1e-30);
      if (!(error <= result.worstGradient)) {
        result.worstGradient = error;
        result.worstGradientName = parameterName;
      }
    }
    if (io.has("decode_logits")) result.decode = await decode(model.eval(), io, inputIds, config.vocab_size);
    return result;
  } finally {
    model.dispose();
  }
}

/** Prefill, then one token at a time with the KV cache; max |Δ| against the fixture's decode logits. */
async function decode(
  model: MiniMindForCausalLM,
  io: Map<string, SafetensorsTensor>,
  inputIds: number[][],
  vocab: number,
): Promise<number> {
  const prefillLength = (io.get("decode_prefill") as SafetensorsTensor<"I32">).data[0] as number;
  const [batch, length] = [inputIds.length, (inputIds[0] as number[]).length];
  const decoded = new Float32Array(batch * length * vocab);
  const cache = model.createCache();
  for (let start = 0; start < length; ) {
    const count = start === 0 ? prefillLength : 1;
    const chunk = inputIds.map((row) => row.slice(start, start + count));
    const step = noGrad(() => scope(() => ({ logits: model.forward({ inputIds: chunk, cache }).logits.detach() })));
    const logits = await read(step.logits);
    step.logits.dispose();
    for (let row = 0; row < batch; row++) {
      decoded.set(logits.subarray(row * count * vocab, (row + 1) * count * vocab), (row * length + start) * vocab);
    }
    start += count;
  }
  cache.dispose();
  return maxDifference(decoded, floats(io.get("decode_logits")));
}

/** Greedy `stream` (async readback per token, so it runs on WebGPU too) of one case's model. */
async function streamGreedy(testCase: BrowserCase, prompts: number[][], maxNewTokens: number): Promise<number[][]> {
  const config = parseMiniMindConfig(testCase.config, `${testCase.name}/config.json`);
  const weights = readSafetensors(testCase.model, { source: `${testCase.name}/model.safetensors` }).tensors;
  const model = MiniMindForCausalLM.fromStateDict(config, weights, testCase.name);
  try {
    const generated: number[][] = prompts.map(() => []);
    for await (const step of model.stream(prompts, { maxNewTokens, doSample: false })) {
      step.forEach((tokens, row) => {
        (generated[row] as number[]).push(...tokens);
      });
    }
    return generated;
  } finally {
    model.dispose();
  }
}

export async function main(args: {
  mode: GpuJsMode;
  cases: BrowserCase[];
  generation: { name: string; prompts: number[][]; maxNewTokens: number };
}): Promise<BrowserParity> {
  const backend = setBackend("gpujs", { mode: args.mode }) as GpuJsBackend;
  try {
    const results: BrowserCaseResult[] = [];
    for (const testCase of args.cases) results.push(await runCase(testCase));
    const generationCase = args.cases.find((testCase) => testCase.name === args.generation.name);
    if (!generationCase) throw new Error(`no case named ${args.generation.name} for the generation check`);
    const streamed = await streamGreedy(generationCase, args.generation.prompts, args.generation.maxNewTokens);
    return { requested: args.mode, actual: backend.mode, kernelModes: backend.kernelClasses(), results, streamed };
  } finally {
    setBackend("cpu");
  }
}
