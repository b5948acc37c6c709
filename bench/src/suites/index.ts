/** The registry of benchmark suites, in the order `pnpm bench` runs them. Add new suites here. */
import type { Suite } from "../suite.js";
import { attentionSuite } from "./attention.js";
import { generateSuite } from "./generate.js";
import { gpujsSuite } from "./gpujs.js";
import { matmulSuite } from "./matmul.js";
import { memorySuite } from "./memory.js";
import { tokenizerSuite } from "./tokenizer.js";
import { trainSuite } from "./train.js";

export const suites: readonly Suite[] = [
  tokenizerSuite,
  matmulSuite,
  memorySuite,
  attentionSuite,
  generateSuite,
  trainSuite,
  gpujsSuite,
];
