/**
 * `minimind sft <data.jsonl> --from <model>`: full supervised fine-tuning on upstream's `{"conversations"}`
 * JSONL (loss on the assistant's tokens only), under a chosen attention mask (`--mask causal|prefix|segments|
 * <module>`), with checkpoints, `--resume`, a held-out evaluation and the loss curve. A thin layer over
 * @minimind/train's `sft`; the shared machinery is in training/.
 */
import type { CliCommand } from "../command.js";
import { configureStage, runStageCommand, stageSpecs } from "../training/stage-command.js";

// Upstream full SFT: lr 1e-5, batch 16, seq 768, 2 epochs — after a long pretraining; small CPU runs need more.
const specs = stageSpecs("sft", { learningRate: 5e-4, batchSize: 16, maxSeqLen: 128, epochs: 1, accumulation: 1 });

export const sftCommand: CliCommand = {
  name: "sft",
  summary: 'fine-tune a model on {"conversations"} JSONL (--mask causal|prefix|segments|<module>)',
  configure(command) {
    configureStage(command, specs, 'SFT JSONL, one {"conversations": [...]} per line (minimind data writes sft.jsonl)');
    command.addHelpText(
      "after",
      `
Masks: causal (MiniMind's), prefix (the prompt bidirectional, the answer causal), segments (each system/user
turn bidirectional within itself), or a module exporting createStrategy({ length, roles, turns }) or a
strategy as default (see minimind mask show --help). Draw one first: minimind mask show --strategy prefix.

Examples:
  minimind sft data/sft.jsonl --from runs/pretrain --out runs/sft --eval data/sft-heldout.jsonl
  minimind sft data/sft.jsonl --from runs/pretrain --out runs/sft-prefix --mask prefix --max-steps 300`,
    );
  },
  run: ({ arguments: [data], options }, { io }) => runStageCommand("sft", data as string, options, specs, io),
};
