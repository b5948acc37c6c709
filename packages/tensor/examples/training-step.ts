import { adamwUpdate, crossEntropy, matmul, randn, rmsnorm, scope, silu, tensor, zeros } from "@minimind/tensor";

const weight = randn([16, 8], { seed: 1, std: 0.1 }).requireGrad(); // a parameter (a leaf)
const norm = tensor(new Float32Array(16).fill(1)).requireGrad();
const m = zeros([16, 8]);
const v = zeros([16, 8]);

const x = randn([4, 16], { seed: 2 });
const targets = tensor(new Int32Array([3, 1, -100, 7])); // -100 = ignored

for (let step = 1; step <= 10; step++) {
  const loss = scope(() => {
    const logits = matmul(silu(rmsnorm(x, norm)), weight); // [4, 8]
    const value = crossEntropy(logits, targets); // mean over the 3 kept rows
    value.backward(); // fills weight.grad and norm.grad
    return value.item(); // everything created in the scope is released here
  });
  if (weight.grad === null) throw new Error("backward() left no gradient"); // (it always fills one here)
  adamwUpdate(weight, weight.grad, m, v, { learningRate: 1e-2, step });
  weight.zeroGrad();
  norm.zeroGrad();
  console.log(step, loss);
}
