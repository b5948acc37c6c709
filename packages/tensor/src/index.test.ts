import { describe, expect, it } from "vitest";
import * as api from "./index.js";
import * as internals from "./internals.js";

describe("@minimind/tensor public API", () => {
  it("exports exactly the curated names", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        // tensors and creation
        "Tensor",
        "arange",
        "full",
        "manualSeed",
        "ones",
        "onesLike",
        "randn",
        "randnValues",
        "scalar",
        "tensor",
        "uniform",
        "uniformValues",
        "zeros",
        "zerosLike",
        // ops
        "abs",
        "adamwUpdate",
        "add",
        "argmax",
        "assign",
        "cast",
        "concat",
        "contiguous",
        "crossEntropy",
        "div",
        "dropout",
        "embedding",
        "equal",
        "exp",
        "expand",
        "flatten",
        "gatherRows",
        "greater",
        "greaterEqual",
        "indexAddRows",
        "less",
        "lessEqual",
        "linear",
        "log",
        "logSoftmax",
        "matmul",
        "matmulQuantized",
        "dequantizeWeight",
        "QuantizedWeight",
        "quantizeWeight",
        "max",
        "maximum",
        "mean",
        "minimum",
        "mul",
        "multinomial",
        "neg",
        "notEqual",
        "permute",
        "pow",
        "relu",
        "reshape",
        "rmsnorm",
        "rope",
        "rsqrt",
        "sigmoid",
        "silu",
        "slice",
        "softmax",
        "sqrt",
        "square",
        "swiglu",
        "squeeze",
        "sub",
        "sum",
        "takeAlongLastAxis",
        "tanh",
        "topk",
        "transpose",
        "unsqueeze",
        "where",
        // autograd, custom ops, gradient checking
        "backward",
        "customOp",
        "gradcheck",
        "gradientNorm",
        "noGrad",
        "zeroGrad",
        // memory
        "keep",
        "memory",
        "scope",
        "scopeDepth",
        // backend selection and the CPU backend's matmul threads
        "getBackend",
        "listBackends",
        "setBackend",
        "getMatmulThreads",
        "setMatmulThreads",
      ].sort(),
    );
  });
});

describe("@minimind/tensor/internals", () => {
  it("exports exactly the names for backend and kernel authors", () => {
    expect(Object.keys(internals).sort()).toEqual(
      [
        // the backend contract
        "fusedKernelNames",
        "kernelNames",
        "primitiveKernelNames",
        "primitivesOnly",
        "registerBackend",
        // host memory for raw kernels
        "cpuData",
        "cpuView",
        "empty",
        "hasHostMemory",
        // CPU backend knobs
        "getMatmulThreads",
        "setMatmulThreads",
        // wasm kernels on the shared heap (the attention package's SIMD kernels)
        "F32",
        "FunctionBuilder",
        "I32",
        "V128",
        "Lanes",
        "emitExp",
        "expLocals",
        "getHeap",
        "instantiateOnHeap",
        "relaxedSimdSupported",
        // the rule table's ops and the composed oracles
        "adamwUpdateComposed",
        "crossEntropyComposed",
        "logSoftmaxComposed",
        "primitiveOps",
        "rmsnormComposed",
        "ropeComposed",
        "softmaxComposed",
        "swigluBackwardComposed",
        "swigluComposed",
      ].sort(),
    );
  });

  it("shares no runtime name with the public entry but the thread knobs, public since they moved there", () => {
    expect(Object.keys(internals).filter((name) => name in api)).toEqual(["getMatmulThreads", "setMatmulThreads"]);
    expect(internals.setMatmulThreads).toBe(api.setMatmulThreads);
  });
});
