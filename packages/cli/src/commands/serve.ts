/**
 * `minimind serve`: an OpenAI-compatible HTTP server for a model (upstream `scripts/serve_openai_api.py`'s
 * API, llama-server's slots): `POST /v1/chat/completions` (JSON or SSE), `GET /v1/models`, `GET /health`,
 * on 127.0.0.1 unless `--host` says otherwise, with an optional API key, a bounded queue and a graceful stop
 * on SIGINT/SIGTERM. Prints `listening on http://HOST:PORT` once ready (with `--port 0`, the port chosen).
 * A thin layer: the server is in serve/.
 */
import { basename } from "node:path";
import type { CliCommand } from "../command.js";
import { loadModel } from "../inference/model-loading.js";
import { integer } from "../options.js";
import { startServer } from "../serve/http.js";
import { Slots } from "../serve/slots.js";

interface ServeFlags {
  model?: string;
  host: string;
  port: number;
  apiKey?: string;
  modelName: string;
  parallel: number;
  maxQueue: number;
  maxTokens: number;
  maxBodyBytes: number;
  shutdownTimeout: number;
  threads?: number;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export const serveCommand: CliCommand = {
  name: "serve",
  summary: "serve a model over an OpenAI-compatible HTTP API (minimind serve --model runs/demo)",
  configure(command) {
    command
      .option("-m, --model <dir>", "model folder, or the run folder of pretrain/sft/demo (default: the shipped model)")
      .option(
        "--host <address>",
        "address to listen on; keep the loopback default unless you set --api-key",
        "127.0.0.1",
      )
      .option("--port <n>", "port to listen on (0: any free port, printed)", integer({ min: 0, max: 65535 }), 8998)
      .option("--api-key <key>", "require Authorization: Bearer <key> (default: $MINIMIND_API_KEY, else none)")
      .option("--model-name <id>", "the model id clients send and GET /v1/models lists", "minimind")
      .option(
        "--parallel <n>",
        "requests generating at once, interleaved token by token",
        integer({ min: 1, max: 64 }),
        1,
      )
      .option(
        "--max-queue <n>",
        "requests waiting for a slot before new ones get 429",
        integer({ min: 0, max: 100000 }),
        16,
      )
      .option(
        "--max-tokens <n>",
        "longest completion a request may ask for (and the default)",
        integer({ min: 1 }),
        1024,
      )
      .option("--max-body-bytes <n>", "largest request body (413 beyond)", integer({ min: 1024 }), 1_048_576)
      .option(
        "--shutdown-timeout <s>",
        "on SIGINT/SIGTERM, seconds running answers get to finish",
        integer({ min: 0 }),
        10,
      )
      .option("--threads <n>", "matmul threads (default: every core)", integer({ min: 1, max: 64 }))
      .addHelpText(
        "after",
        `
Endpoints: POST /v1/chat/completions (stream, temperature, top_p, max_tokens, stop, seed, tools; upstream's
open_thinking / chat_template_kwargs.enable_thinking — the <think> block comes back as reasoning_content and
<tool_call> blocks as tool_calls), GET /v1/models, GET /health.

Examples:
  minimind serve --model runs/demo
  minimind serve --model runs/demo --port 0 --api-key secret --parallel 2
  curl http://127.0.0.1:8998/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model": "minimind", "messages": [{"role": "user", "content": "静夜思的作者是谁？"}]}'`,
      );
  },
  async run({ options }, { io, verbose }) {
    const flags = options as unknown as ServeFlags;
    const apiKey = flags.apiKey ?? (io.environment.MINIMIND_API_KEY || undefined);
    const { textModel, folder } = await loadModel(flags.model, flags.threads);
    const slots = new Slots(flags.parallel, flags.maxQueue);
    const server = await startServer({
      textModel,
      modelId: flags.modelName,
      maxTokens: flags.maxTokens,
      slots,
      host: flags.host,
      port: flags.port,
      apiKey,
      maxBodyBytes: flags.maxBodyBytes,
      ...(verbose ? { log: (line: string) => io.stderr(`${line}\n`) } : {}),
    });
    if (!LOOPBACK.has(flags.host) && apiKey === undefined) {
      io.stderr(`warning: listening on ${flags.host} without --api-key: anyone who can reach it can use the model\n`);
    }
    io.stdout(
      `listening on ${server.url} (model "${flags.modelName}" from ${basename(folder)}; ${flags.parallel} slot(s), queue ${flags.maxQueue})\n`,
    );
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          io.stderr(`${signal} again: stopping now\n`);
          void server.close(0);
          return;
        }
        stopping = true;
        io.stderr(`${signal}: finishing running requests (up to ${flags.shutdownTimeout} s); again to stop now\n`);
        server.close(flags.shutdownTimeout * 1000).then(() => {
          process.off("SIGINT", onInterrupt);
          process.off("SIGTERM", onTerminate);
          resolve();
        });
      };
      const onInterrupt = () => stop("SIGINT");
      const onTerminate = () => stop("SIGTERM");
      process.on("SIGINT", onInterrupt);
      process.on("SIGTERM", onTerminate);
    });
    textModel.dispose();
    io.stderr("stopped\n");
    return 0;
  },
};
