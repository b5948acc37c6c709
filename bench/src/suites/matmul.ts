/**
 * float32 matmul throughput (GFLOP/s = 2·m·n·k / time) of the CPU backend's wasm kernels against
 * @tensorflow/tfjs-backend-wasm (XNNPACK) and @jax-js/jax (wasm backend), all in the same process and run:
 * the 1024³ square, the MiniMind training shapes [1024×512]·[512×1536] and [1024×768]·[768×2432], and the
 * decode step [1×512]·[512×6400]. Each figure is the median of 7 rounds that time every contender in turn,
 * after 3 warm-up calls each. Ours runs on
 * the default thread count and, as a separate case, on one thread; the peers use what they use in Node
 * (one thread each). Not a correctness test: results are compared once up front and the suite refuses to
 * time different answers. Our kernels are not in @minimind/tensor's public index yet, so this private
 * bench loads them from the package source by relative path (through tsx), typed by the local interface
 * below so that the bench's type check does not compile another package's internals.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import type { BenchResult, Suite } from "../suite.js";

interface HeapBlock {
  readonly ptr: number;
  readonly length: number;
  f32(): Float32Array;
}

/** The part of `packages/tensor/src/backends/cpu/wasm/{heap,matmul}.ts` this suite uses. */
interface OurKernels {
  getHeap(): { shared: boolean; alloc(length: number): HeapBlock; free(block: HeapBlock): void };
  matmul(
    a: HeapBlock,
    aOffset: number,
    b: HeapBlock,
    bOffset: number,
    out: HeapBlock,
    outOffset: number,
    spec: {
      batch: number;
      m: number;
      n: number;
      k: number;
      transA: boolean;
      transB: boolean;
      aBatchStride: number;
      bBatchStride: number;
    },
  ): void;
  setMatmulThreads(n: number): void;
  getMatmulThreads(): number;
}

async function loadOurKernels(): Promise<OurKernels> {
  const directory = "../../../packages/tensor/src/backends/cpu/wasm";
  const heap = (await import(`${directory}/heap.ts`)) as Pick<OurKernels, "getHeap">;
  const matmul = (await import(`${directory}/matmul.ts`)) as Omit<OurKernels, "getHeap">;
  return {
    getHeap: heap.getHeap,
    matmul: matmul.matmul,
    setMatmulThreads: matmul.setMatmulThreads,
    getMatmulThreads: matmul.getMatmulThreads,
  };
}

const TFJS = "@tensorflow/tfjs-backend-wasm 4.22.0";
const JAX = "@jax-js/jax 0.1.25 (wasm)";
const RUNS = 7;
const WARMUP = 3;

/**
 * Median time (ms) of each function over RUNS rounds, after WARMUP untimed calls each (so every wasm
 * kernel has tiered up). Each round times every function once, in turn, so load from other processes on
 * this shared machine hits all of them alike instead of whichever happened to run during it.
 */
async function interleavedMedians<Name extends string>(
  functions: Record<Name, () => unknown>,
): Promise<Record<Name, number>> {
  const entries = Object.entries(functions) as Array<[Name, () => unknown]>;
  for (const [, fn] of entries) for (let index = 0; index < WARMUP; index++) await fn();
  const times = new Map<Name, number[]>(entries.map(([name]) => [name, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const [name, fn] of entries) {
      const start = performance.now();
      await fn();
      times.get(name)?.push(performance.now() - start);
    }
  }
  const medians = {} as Record<Name, number>;
  for (const [name, list] of times) {
    list.sort((x, y) => x - y);
    medians[name] = list[Math.floor(list.length / 2)] ?? Number.NaN;
  }
  return medians;
}

const shapes: ReadonlyArray<{ m: number; k: number; n: number }> = [
  { m: 1024, k: 1024, n: 1024 },
  { m: 1024, k: 512, n: 1536 },
  { m: 1024, k: 768, n: 2432 },
  { m: 1, k: 512, n: 6400 },
];

function randomValues(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[index] = state / 2 ** 31 - 1;
  }
  return out;
}

function maxAbsDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let worst = 0;
  for (let index = 0; index < x.length; index++) worst = Math.max(worst, Math.abs((x[index] ?? 0) - (y[index] ?? 0)));
  return worst;
}

type JaxModule = typeof import("@jax-js/jax");

async function loadJax(): Promise<JaxModule> {
  // jax-js reads `navigator` when it initialises, which Node 20 does not define.
  (globalThis as { navigator?: object }).navigator ??= {};
  const jax = await import("@jax-js/jax");
  await jax.init("wasm");
  jax.defaultDevice("wasm");
  return jax;
}

export const matmulSuite: Suite = {
  name: "matmul",
  description: `float32 matmul GFLOP/s vs ${TFJS} and ${JAX}, median of ${RUNS} interleaved runs`,
  async *run({ log }) {
    await tf.setBackend("wasm");
    await tf.ready();
    const jax = await loadJax();
    const { getHeap, matmul, setMatmulThreads, getMatmulThreads } = await loadOurKernels();
    const heap = getHeap();
    const defaultThreads = getMatmulThreads();
    log(
      `matmul: ours on ${defaultThreads} thread(s) (shared heap: ${heap.shared}); PyTorch peer skipped (torch is not installed here)`,
    );
    for (const { m, k, n } of shapes) {
      const name = `[${m}x${k}]·[${k}x${n}]`;
      const gigaflop = (2 * m * n * k) / 1e9;
      const aData = randomValues(m * k, 1);
      const bData = randomValues(k * n, 2);
      const a = heap.alloc(m * k);
      const b = heap.alloc(k * n);
      const out = heap.alloc(m * n);
      a.f32().set(aData);
      b.f32().set(bData);
      const spec = { batch: 1, m, n, k, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
      const ours = () => matmul(a, 0, b, 0, out, 0, spec);

      const tfA = tf.tensor2d(aData, [m, k]);
      const tfB = tf.tensor2d(bData, [k, n]);
      const tfjs = () => tf.matMul(tfA, tfB).dispose();

      const jaxA = jax.numpy.array(aData).reshape([m, k]);
      const jaxB = jax.numpy.array(bData).reshape([k, n]);
      const jaxRun = async () => {
        const product = jax.numpy.matmul(jaxA.ref, jaxB.ref);
        await product.blockUntilReady();
        product.dispose();
      };

      // Same answer from all three before timing anything.
      ours();
      const tfOut = tf.matMul(tfA, tfB);
      const jaxOut = jax.numpy.matmul(jaxA.ref, jaxB.ref);
      const tolerance = 1e-6 * k * 4;
      const tfDifference = maxAbsDifference(out.f32(), tfOut.dataSync());
      const jaxDifference = maxAbsDifference(out.f32(), (await jaxOut.data()) as Float32Array);
      tfOut.dispose();
      if (tfDifference > tolerance || jaxDifference > tolerance) {
        throw new Error(
          `[bench matmul] ${name}: results differ (max |ours - tfjs| ${tfDifference}, |ours - jax| ${jaxDifference}, tolerance ${tolerance}); refusing to time different answers`,
        );
      }

      const gflops = (ms: number) => gigaflop / (ms / 1000);
      const oursSingle = async () => {
        setMatmulThreads(1);
        ours();
        setMatmulThreads(defaultThreads);
      };
      // Ours and ours-on-one-thread are never adjacent, so neither finds the other's operands in cache.
      const medians = await interleavedMedians({ ours, tfjs, oursSingle, jax: jaxRun });
      const oursValue = gflops(medians.ours);
      const oursSingleValue = gflops(medians.oursSingle);
      const tfValue = gflops(medians.tfjs);
      const jaxValue = gflops(medians.jax);
      const faster = Math.max(tfValue, jaxValue);
      log(
        `matmul: ${name} ours ${oursValue.toFixed(1)} (1 thread ${oursSingleValue.toFixed(1)}), tfjs ${tfValue.toFixed(1)}, jax-js ${jaxValue.toFixed(1)} GFLOP/s; vs faster peer ×${(oursValue / faster).toFixed(2)}`,
      );
      const result = (caseName: string, value: number, peer: string, peerValue: number): BenchResult => ({
        suite: "matmul",
        case: caseName,
        metric: "throughput",
        unit: "GFLOP/s",
        value,
        peer,
        peerValue,
        ratio: value / peerValue,
      });
      const threadsName = `${name} ${defaultThreads} threads`;
      yield result(threadsName, oursValue, TFJS, tfValue);
      yield result(threadsName, oursValue, JAX, jaxValue);
      yield result(`${name} 1 thread`, oursSingleValue, TFJS, tfValue);
      yield result(`${name} 1 thread`, oursSingleValue, JAX, jaxValue);

      tfA.dispose();
      tfB.dispose();
      jaxA.dispose();
      jaxB.dispose();
      for (const block of [a, b, out]) heap.free(block);
    }
  },
};
