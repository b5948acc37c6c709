/**
 * float32 matmul throughput (GFLOP/s = 2·m·n·k / time) of @minimind/tensor's public API — `matmul(a, b)`
 * then `dataSync()` of the result, as a user runs it — against @tensorflow/tfjs-backend-wasm (XNNPACK) and
 * @jax-js/jax (wasm backend), all in the same process and run, every contender reading its result back:
 * the 1024³ square, the MiniMind training shapes [1024×512]·[512×1536] and [1024×768]·[768×2432], and the
 * decode step [1×512]·[512×6400]. Each figure is the median of 7 rounds that time every contender in turn,
 * after 3 warm-up calls each. Ours runs on the default thread count and, as a separate case, on one thread
 * (`setMatmulThreads`). Peer settings (printed): tfjs-backend-wasm with its SIMD build on one thread (its
 * threaded build is disabled in Node: `WASM_HAS_MULTITHREAD_SUPPORT` is false there, tfjs issue #3830);
 * jax-js's wasm backend, which runs one thread. Not a correctness test: results are compared once up front
 * and the suite refuses to time different answers. Public exports only: no internals, no source paths.
 */
import { getMatmulThreads, matmul, setMatmulThreads, tensor } from "@minimind/tensor";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import * as tf from "@tensorflow/tfjs-core";
import { type BenchResult, interleavedMedians, type Suite } from "../suite.js";

const TFJS = "@tensorflow/tfjs-backend-wasm 4.22.0";
const JAX = "@jax-js/jax 0.1.25 (wasm)";
const RUNS = 7;
const WARMUP = 3;

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
  description: `float32 matmul + readback GFLOP/s (public API) vs ${TFJS} and ${JAX}, median of ${RUNS} interleaved runs`,
  async *run({ log }) {
    await tf.setBackend("wasm");
    await tf.ready();
    const jax = await loadJax();
    const defaultThreads = getMatmulThreads();
    log(
      `matmul: ours on ${defaultThreads} thread(s) (public API: matmul + dataSync); ${TFJS} on ${getThreadsCount()} thread(s), SIMD ${String(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))}, multithread support ${String(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"))}; ${JAX} (one thread); PyTorch is the generate/train suites' peer`,
    );
    for (const { m, k, n } of shapes) {
      const name = `[${m}x${k}]·[${k}x${n}]`;
      const gigaflop = (2 * m * n * k) / 1e9;
      const aData = randomValues(m * k, 1);
      const bData = randomValues(k * n, 2);
      const a = tensor(aData, { shape: [m, k] });
      const b = tensor(bData, { shape: [k, n] });
      const product = () => {
        const out = matmul(a, b);
        const values = out.dataSync();
        out.dispose();
        return values;
      };
      const ours = () => product();

      const tfA = tf.tensor2d(aData, [m, k]);
      const tfB = tf.tensor2d(bData, [k, n]);
      const tfProduct = () => {
        const out = tf.matMul(tfA, tfB);
        const values = out.dataSync();
        out.dispose();
        return values;
      };

      const jaxA = jax.numpy.array(aData).reshape([m, k]);
      const jaxB = jax.numpy.array(bData).reshape([k, n]);
      const jaxProduct = async () => (await jax.numpy.matmul(jaxA.ref, jaxB.ref).data()) as Float32Array;

      // Same answer from all three before timing anything.
      const oursOut = product();
      const tolerance = 1e-6 * k * 4;
      const tfDifference = maxAbsDifference(oursOut, tfProduct());
      const jaxDifference = maxAbsDifference(oursOut, await jaxProduct());
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
      const medians = await interleavedMedians({ ours, tfjs: tfProduct, oursSingle, jax: jaxProduct }, RUNS, WARMUP);
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
      a.dispose();
      b.dispose();
    }
  },
};
