/**
 * Readback and upload of a 1024×1024 float32 tensor (4 MiB) through @minimind/tensor's public API —
 * `dataSync()`, `await data()`, `tensor(Float32Array)` — in GB/s, against @tensorflow/tfjs-backend-wasm doing
 * the same (`dataSync()`, `data()`, `tf.tensor`) in the same run, and against two floors measured alongside:
 * a byte copy into memory that is already resident (memory speed: what a copy costs when nothing else does)
 * and a fresh 4 MiB array filled with zeros (what any API that returns a new array pays before copying a
 * byte: on this kind of virtual machine a first touch of a fresh page costs ~15 µs, so the fresh array, not
 * the copy, dominates a readback). Each figure is the median of 15 interleaved rounds after 5 warm-ups.
 * Peer settings (printed): tfjs-backend-wasm's SIMD build, one thread (its threaded build is off in Node).
 */
import { tensor } from "@minimind/tensor";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import { type BenchResult, interleavedMedians, type Suite } from "../suite.js";

const TFJS = "@tensorflow/tfjs-backend-wasm 4.22.0";
const RESIDENT = "byte copy into resident memory (Uint8Array.set)";
const FRESH = "fresh 4 MiB Float32Array, zero-filled";
const RUNS = 15;
const WARMUP = 5;
const ROWS = 1024;
const COLUMNS = 1024;

export const memorySuite: Suite = {
  name: "memory",
  description: `readback and upload of a ${ROWS}×${COLUMNS} float32 tensor (GB/s, public API) vs ${TFJS} and memory-speed floors, median of ${RUNS} interleaved runs`,
  async *run({ log }) {
    await tf.setBackend("wasm");
    await tf.ready();
    log(
      `memory: ${TFJS} on ${getThreadsCount()} thread(s), SIMD ${String(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))}`,
    );
    const length = ROWS * COLUMNS;
    const bytes = length * 4;
    const values = new Float32Array(length);
    for (let index = 0; index < length; index++) values[index] = Math.sin(index);
    const ours = tensor(values, { shape: [ROWS, COLUMNS] });
    const theirs = tf.tensor2d(values, [ROWS, COLUMNS]);
    const resident = new Uint8Array(bytes).fill(1);
    const source = new Uint8Array(values.buffer);
    let sink = 0;
    const medians = await interleavedMedians(
      {
        oursDataSync: () => {
          sink += ours.dataSync()[7] as number;
        },
        tfjsDataSync: () => {
          sink += theirs.dataSync()[7] as number;
        },
        oursData: async () => {
          sink += (await ours.data())[7] as number;
        },
        tfjsData: async () => {
          sink += (await theirs.data())[7] as number;
        },
        oursUpload: () => tensor(values, { shape: [ROWS, COLUMNS] }).dispose(),
        tfjsUpload: () => tf.tensor2d(values, [ROWS, COLUMNS]).dispose(),
        resident: () => resident.set(source),
        fresh: () => {
          sink += new Float32Array(length).fill(0)[7] as number;
        },
      },
      RUNS,
      WARMUP,
    );
    ours.dispose();
    theirs.dispose();
    if (Number.isNaN(sink)) throw new Error("[bench memory] read back a NaN; the values are finite");
    const speed = (ms: number) => bytes / 1e9 / (ms / 1000);
    const result = (caseName: string, value: number, peer: string, peerValue: number): BenchResult => ({
      suite: "memory",
      case: caseName,
      metric: "throughput",
      unit: "GB/s",
      value,
      peer,
      peerValue,
      ratio: value / peerValue,
    });
    log(
      `memory: dataSync ${medians.oursDataSync.toFixed(2)} ms (tfjs ${medians.tfjsDataSync.toFixed(2)}), data() ${medians.oursData.toFixed(2)} ms (tfjs ${medians.tfjsData.toFixed(2)}), upload ${medians.oursUpload.toFixed(2)} ms (tfjs ${medians.tfjsUpload.toFixed(2)}); floors: resident copy ${medians.resident.toFixed(2)} ms, fresh array ${medians.fresh.toFixed(2)} ms`,
    );
    for (const [caseName, oursMs, tfjsMs] of [
      ["dataSync()", medians.oursDataSync, medians.tfjsDataSync],
      ["await data()", medians.oursData, medians.tfjsData],
      ["upload tensor(Float32Array)", medians.oursUpload, medians.tfjsUpload],
    ] as const) {
      yield result(caseName, speed(oursMs), TFJS, speed(tfjsMs));
      yield result(caseName, speed(oursMs), RESIDENT, speed(medians.resident));
    }
    yield result("dataSync()", speed(medians.oursDataSync), FRESH, speed(medians.fresh));
  },
};
