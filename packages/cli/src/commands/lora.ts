/**
 * `minimind lora <data.jsonl> --from <model>`: LoRA fine-tuning (upstream's `train_lora.py`: rank 16 on the
 * square projections, only the adapters train) on `{"conversations"}` JSONL. Checkpoints hold the adapters;
 * at the end the adapters are merged into `<out>/model` so `generate` and `chat` load it like any model.
 * A thin layer over @minimind/train's `lora`; the shared machinery is in training/.
 */
import type { CliCommand } from "../command.js";
import { configureStage, runStageCommand, stageSpecs } from "../training/stage-command.js";

// Upstream LoRA: lr 1e-4, batch 32, seq 340, 10 epochs.
const specs = stageSpecs("lora", { learningRate: 1e-3, batchSize: 16, maxSeqLen: 128, epochs: 1, accumulation: 1 });

export const loraCommand: CliCommand = {
  name: "lora",
  summary: 'LoRA fine-tuning on {"conversations"} JSONL; the merged model lands in <out>/model',
  configure(command) {
    configureStage(command, specs, 'SFT JSONL, one {"conversations": [...]} per line');
    command.addHelpText(
      "after",
      `
Checkpoints hold only the adapters (adapter_model.safetensors) and the optimizer; --resume continues them.

Example:
  minimind lora data/sft.jsonl --from runs/sft --out runs/lora --rank 8 --max-steps 100`,
    );
  },
  run: ({ arguments: [data], options }, { io }) => runStageCommand("lora", data as string, options, specs, io),
};
