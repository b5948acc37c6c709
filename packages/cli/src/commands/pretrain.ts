/**
 * `minimind pretrain <data.jsonl>`: pretrains a new MiniMind model on upstream's `{"text"}` JSONL (what
 * `minimind data` writes), packing texts into rows, with checkpoints, `--resume`, a held-out evaluation, a
 * progress line and the loss curve (SVG and PNG) in the run folder. A thin layer over @minimind/train's
 * `pretrain`; the shared machinery is in training/. Not here: building the data (`minimind data`).
 */
import type { CliCommand } from "../command.js";
import { configureStage, runStageCommand, stageSpecs } from "../training/stage-command.js";

// Upstream: lr 5e-4, batch 32, seq 340, 2 epochs, accumulation 8 for a 26–64M model on a GPU.
const specs = stageSpecs("pretrain", { learningRate: 5e-4, batchSize: 16, maxSeqLen: 256, epochs: 1, accumulation: 1 });

export const pretrainCommand: CliCommand = {
  name: "pretrain",
  summary: 'pretrain a new model on {"text"} JSONL (checkpoints, --resume, loss curves)',
  configure(command) {
    configureStage(command, specs, 'pretraining JSONL, one {"text": …} per line (minimind data writes pretrain.jsonl)');
    command.addHelpText(
      "after",
      `
Writes into --out: checkpoint-<step>/ folders, metrics.jsonl, loss.svg and loss.png, and model/ (config.json
and model.safetensors) at the end. Ctrl-C stops after the current step, writes a checkpoint and exits 130;
run the same command with --resume to continue exactly where it stopped.

Examples:
  minimind data --collections tang --max-works 2000 --out data
  minimind pretrain data/pretrain.jsonl --out runs/pretrain --eval data/pretrain-heldout.jsonl --max-steps 200
  minimind pretrain data/pretrain.jsonl --out runs/pretrain --resume
  minimind pretrain data/pretrain.jsonl --out runs/big --config big.json     # {"hidden-size": 512, "layers": 8}`,
    );
  },
  run: ({ arguments: [data], options }, { io }) => runStageCommand("pretrain", data as string, options, specs, io),
};
