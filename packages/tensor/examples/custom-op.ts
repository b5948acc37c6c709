import { customOp, mul, type Tensor, tensor } from "@minimind/tensor";
import { cpuData, empty } from "@minimind/tensor/internals";

const square = customOp({
  name: "square",
  forward: (x) => {
    const out = empty(x.shape, { dtype: x.dtype }); // allocate outputs first…
    const input = cpuData(x.contiguous()); // …then take views (CPU backend only)
    const output = cpuData(out);
    for (let i = 0; i < output.length; i++) output[i] = (input[i] ?? 0) ** 2;
    return out; // or { output: out, saved: [extra tensors for backward] }
  },
  backward: (gradOutput, { inputs }) => [mul(gradOutput, mul(inputs[0] as Tensor, 2))],
});

const x = tensor([1, 2, 3]).requireGrad();
const y = square(x).sum();
y.backward();
console.log(y.item(), x.grad?.toArray()); // 14 [ 2, 4, 6 ]
