/**
 * Test support for the PyTorch parity tests (model.test.ts on the CPU backend, gpujs-parity.test.ts on the
 * gpu.js backend): reading the reference fixtures in ../shared/fixtures/model and comparing arrays.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Tensor } from "@minimind/tensor";
import { expect } from "vitest";
import { parseMiniMindConfig } from "../config.js";
import { readSafetensors, type SafetensorsTensor } from "../safetensors.js";

export const fixtures = new URL("../../../../../shared/fixtures/model/", import.meta.url);
export const fixtureCases = readdirSync(fixtures).sort();

export function readTensors(name: string, file: string): Map<string, SafetensorsTensor> {
  return readSafetensors(readFileSync(new URL(`${name}/${file}`, fixtures)), { source: `${name}/${file}` }).tensors;
}

export function configOf(name: string) {
  return parseMiniMindConfig(
    JSON.parse(readFileSync(new URL(`${name}/config.json`, fixtures), "utf8")),
    `${name}/config.json`,
  );
}

export function rows(entry: SafetensorsTensor | undefined): number[][] {
  if (entry === undefined || entry.dtype !== "I32") throw new Error("expected an I32 tensor");
  const [batch, length] = entry.shape as [number, number];
  return Array.from({ length: batch }, (_, row) => Array.from(entry.data.subarray(row * length, (row + 1) * length)));
}

export function floats(entry: SafetensorsTensor | undefined): Float32Array {
  if (entry === undefined || entry.dtype !== "F32") throw new Error("expected an F32 tensor");
  return entry.data;
}

export function maxAbsoluteDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let index = 0; index < expected.length; index++) {
    const difference = Math.abs((actual[index] as number) - (expected[index] as number));
    if (!(difference <= worst)) worst = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
  }
  return worst;
}

export function maxMagnitude(values: ArrayLike<number>): number {
  let largest = 0;
  for (let index = 0; index < values.length; index++) largest = Math.max(largest, Math.abs(values[index] as number));
  return largest;
}

export function copy(tensor: Tensor): Float32Array {
  return Float32Array.from(tensor.dataSync() as Float32Array);
}
