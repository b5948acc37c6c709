/** The seeded draws compared across processes (see random.test.ts). */
import { dropout, manualSeed, multinomial, ones, randn, tensor, uniform } from "../index.js";

export function seededDraws(): Record<string, number[]> {
  manualSeed(1234);
  const global = Array.from(randn([5]).dataSync());
  return {
    randn: Array.from(randn([2, 3], { seed: 42 }).dataSync()),
    uniform: Array.from(uniform([7], { seed: 7, low: -2, high: 3 }).dataSync()),
    randnFloat64: Array.from(randn([3], { seed: 5, dtype: "float64" }).dataSync()),
    dropout: Array.from(dropout(ones([10]), 0.5, { seed: 3 }).dataSync()),
    multinomial: Array.from(multinomial(tensor([[1, 2, 3, 4]]), { samples: 8, seed: 9 }).dataSync()),
    global,
  };
}
