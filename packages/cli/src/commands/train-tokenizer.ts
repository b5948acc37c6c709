/**
 * `minimind train-tokenizer`: learns a byte-level BPE vocabulary the way MiniMind's `train_tokenizer.py` does
 * (through @minimind/tokenizer's BpeTrainer) from the shipped corpus or the user's files, and writes
 * tokenizer.json and tokenizer_config.json, ready for `minimind tokenize --tokenizer <dir>`. Texts are read
 * with the same readers as `minimind data` (works, {"text"}, {"conversations"}, plain text). Not here: the
 * training algorithm itself.
 */
import { BpeTrainer, saveTrainedTokenizer, Tokenizer } from "@minimind/tokenizer";
import { type CliCommand, UsageError } from "../command.js";
import { pretrainTexts } from "../data/build.js";
import { type InputContents, loadShippedCorpus, readInputFile } from "../data/works.js";
import { integer } from "../options.js";

const MINIMIND_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

interface TrainTokenizerOptions {
  out: string;
  vocabSize: number;
  minFrequency: number;
  specialTokens?: string;
  maxTexts?: number;
  json?: boolean;
}

/** Every text an input holds: works as pretraining texts, {"text"} lines, and each message of a conversation. */
function textsOf(contents: InputContents): string[] {
  return [
    ...contents.works.flatMap((work) => pretrainTexts(work)),
    ...contents.texts,
    ...contents.conversations.flatMap((conversation) => conversation.conversations.map((message) => message.content)),
  ];
}

export const trainTokenizerCommand: CliCommand = {
  name: "train-tokenizer",
  summary: "learn a byte-level BPE vocabulary (as MiniMind's train_tokenizer.py) from the corpus or your files",
  configure(command) {
    command
      .argument(
        "[files...]",
        'training text: .jsonl ({"text"}, {"conversations"} or works) or plain text; default: the shipped corpus',
      )
      .option("-o, --out <dir>", "folder for tokenizer.json and tokenizer_config.json", "minimind-tokenizer")
      .option(
        "--vocab-size <n>",
        "vocabulary size, special tokens and the 256 bytes included",
        integer({ min: 1 }),
        6400,
      )
      .option("--min-frequency <n>", "never merge a pair seen fewer times", integer({ min: 0 }), 0)
      .option(
        "--special-tokens <list>",
        `comma-separated, given ids 0, 1, … (default ${MINIMIND_SPECIAL_TOKENS.join(",")})`,
      )
      .option("--max-texts <n>", "train on at most the first n texts (for quick runs)", integer({ min: 1 }))
      .option("--json", "print a summary as JSON")
      .addHelpText(
        "after",
        `
Examples:
  minimind train-tokenizer --vocab-size 6400 --out my-tokenizer     # on the shipped corpus
  minimind train-tokenizer minimind-data/pretrain.jsonl --vocab-size 2000
  minimind tokenize --tokenizer my-tokenizer --text "床前明月光"`,
      );
  },
  async run({ arguments: [files], options }, { io }) {
    const parsed = options as unknown as TrainTokenizerOptions;
    const specialTokens =
      parsed.specialTokens === undefined
        ? MINIMIND_SPECIAL_TOKENS
        : parsed.specialTokens.split(",").filter((token) => token !== "");
    if (specialTokens.length === 0) throw new UsageError("--special-tokens needs at least one token");
    const smallest = 256 + specialTokens.length;
    if (parsed.vocabSize < smallest) {
      throw new UsageError(
        `--vocab-size ${parsed.vocabSize} is below ${smallest} (256 byte tokens + ${specialTokens.length} special tokens)`,
      );
    }
    const inputs = files as string[];
    let texts =
      inputs.length === 0
        ? loadShippedCorpus().flatMap((work) => pretrainTexts(work))
        : inputs.flatMap((file) => textsOf(readInputFile(file)));
    if (parsed.maxTexts !== undefined) texts = texts.slice(0, parsed.maxTexts);
    if (texts.length === 0) throw new Error(`no text to train on in ${inputs.join(", ")}`);

    const started = Date.now();
    const trainer = new BpeTrainer({
      vocabularySize: parsed.vocabSize,
      minFrequency: parsed.minFrequency,
      specialTokens,
      ...(parsed.specialTokens === undefined
        ? {}
        : { bosToken: null, eosToken: null, padToken: null, unknownToken: null }),
    });
    for (const text of texts) trainer.feed(text);
    const trained = trainer.train();
    await saveTrainedTokenizer(trained, parsed.out);

    // Load what was written, as a user would, and measure it on the training texts.
    const tokenizer = await Tokenizer.fromPretrained(parsed.out);
    const sample = texts.slice(0, 2000);
    const characters = sample.reduce((sum, text) => sum + [...text].length, 0);
    const tokens = sample.reduce((sum, text) => sum + tokenizer.encode(text).length, 0);
    const minimind = Tokenizer.minimind();
    const minimindTokens = sample.reduce((sum, text) => sum + minimind.encode(text).length, 0);
    const summary = {
      out: parsed.out,
      vocabularySize: tokenizer.vocabularySize,
      texts: texts.length,
      distinctWords: trainer.distinctWords,
      charactersPerToken: Number((characters / Math.max(1, tokens)).toFixed(3)),
      /** The same measure for MiniMind's own tokenizer, for comparison. */
      minimindCharactersPerToken: Number((characters / Math.max(1, minimindTokens)).toFixed(3)),
      seconds: Number(((Date.now() - started) / 1000).toFixed(1)),
    };
    if (parsed.json === true) {
      io.stdout(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    io.stdout(
      `${summary.out}/tokenizer.json: ${summary.vocabularySize} tokens from ${summary.texts.toLocaleString("en-US")} texts ` +
        `(${summary.distinctWords.toLocaleString("en-US")} distinct words) in ${summary.seconds} s; ` +
        `${summary.charactersPerToken} characters per token on the training text ` +
        `(MiniMind's tokenizer: ${summary.minimindCharactersPerToken})\n`,
    );
    return 0;
  },
};
