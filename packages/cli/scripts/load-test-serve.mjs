#!/usr/bin/env node
/**
 * A bounded load test of `minimind serve`: starts the built server (dist/bin.js) on a free loopback port,
 * warms it up, then sends `--requests` chat completions from `--concurrency` clients at once — every other one
 * streamed, every `--cancel-every`-th streamed one cancelled after its second chunk — and checks that every
 * request was answered (200 with a finish_reason) or refused cleanly (429/503 with an OpenAI error body),
 * that every slot is free afterwards, and how the server's memory moved from after the warm-up to after the
 * load. Then it stops the server with SIGTERM and expects a clean exit. Prints figures (requests/s, p50/p95
 * latency, tokens/s) as text, or one JSON object with --json; exits 1 if any request failed otherwise.
 *
 *   node packages/cli/scripts/load-test-serve.mjs --model runs/demo/sft/model
 *   node packages/cli/scripts/load-test-serve.mjs --model m --requests 200 --concurrency 8 --parallel 2 --max-queue 4
 *
 * Not a benchmark of the model alone: the figures include HTTP, JSON and SSE, queueing and refusals.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    model: { type: "string" },
    requests: { type: "string", default: "200" },
    concurrency: { type: "string", default: "8" },
    "cancel-every": { type: "string", default: "5" },
    "max-tokens": { type: "string", default: "48" },
    parallel: { type: "string", default: "2" },
    "max-queue": { type: "string", default: "4" },
    warmup: { type: "string", default: "8" },
    threads: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
if (flags.model === undefined) {
  console.error("load-test-serve: --model <folder> is required");
  process.exit(2);
}
const count = (name) => {
  const value = Number(flags[name]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`load-test-serve: --${name} must be a non-negative integer`);
    process.exit(2);
  }
  return value;
};
const requests = count("requests");
const concurrency = Math.max(1, count("concurrency"));
const cancelEvery = count("cancel-every");
const maxTokens = Math.max(1, count("max-tokens"));
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

const serverArgs = [bin, "serve", "--model", flags.model, "--port", "0", "--model-name", "load"];
serverArgs.push("--parallel", String(count("parallel")), "--max-queue", String(count("max-queue")));
if (flags.threads !== undefined) serverArgs.push("--threads", String(count("threads")));
const server = spawn(process.execPath, serverArgs, { stdio: ["ignore", "pipe", "pipe"] });
let serverErrors = "";
server.stderr.on("data", (chunk) => {
  serverErrors += chunk;
});
const exited = new Promise((resolve) => server.on("exit", (code, signal) => resolve(code ?? signal)));
const url = await new Promise((resolve, reject) => {
  let output = "";
  server.stdout.on("data", (chunk) => {
    output += chunk;
    const match = output.match(/listening on (http:\/\/\S+)/);
    if (match) resolve(match[1]);
  });
  exited.then((code) => reject(new Error(`the server exited (${code}) before listening: ${serverErrors.trim()}`)));
});

const health = async () => (await fetch(`${url}/health`)).json();
const body = (index, stream) =>
  JSON.stringify({
    model: "load",
    messages: [{ role: "user", content: `第${index}首：床前明月光，` }],
    max_tokens: maxTokens,
    seed: index,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });

/** One request: its outcome, latency and completion tokens. */
async function send(index) {
  const stream = index % 2 === 1;
  const cancel = stream && cancelEvery > 0 && Math.floor(index / 2) % cancelEvery === 0;
  const controller = new AbortController();
  const started = performance.now();
  let response;
  try {
    response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body(index, stream),
      signal: controller.signal,
    });
  } catch (error) {
    return { outcome: "failed", reason: `fetch: ${error.message}` };
  }
  if (response.status === 429 || response.status === 503) {
    const error = (await response.json()).error;
    const clean = typeof error?.message === "string" && typeof error?.type === "string";
    return clean
      ? { outcome: "refused", status: response.status }
      : { outcome: "failed", reason: "refusal without an error body" };
  }
  if (response.status !== 200)
    return { outcome: "failed", reason: `status ${response.status}: ${await response.text()}` };
  if (!stream) {
    const answer = await response.json();
    const finish = answer.choices?.[0]?.finish_reason;
    if (finish === undefined) return { outcome: "failed", reason: "no finish_reason" };
    return { outcome: "answered", ms: performance.now() - started, tokens: answer.usage.completion_tokens };
  }
  const decoder = new TextDecoder();
  let text = "";
  let cancelled = false;
  try {
    for await (const part of response.body) {
      text += decoder.decode(part, { stream: true });
      if (cancel && text.split("\n\n").length - 1 >= 2) {
        cancelled = true;
        controller.abort();
        break;
      }
    }
  } catch (error) {
    if (!cancelled) return { outcome: "failed", reason: `stream: ${error.message}` };
  }
  if (cancelled) return { outcome: "cancelled" };
  const events = text.split("\n\n").filter((event) => event.startsWith("data: "));
  if (events.at(-1) !== "data: [DONE]") return { outcome: "failed", reason: "the stream did not end with [DONE]" };
  const chunksJson = events.slice(0, -1).map((event) => JSON.parse(event.slice(6)));
  const finish = chunksJson.find((chunk) => chunk.choices?.[0]?.finish_reason)?.choices[0].finish_reason;
  const usage = chunksJson.find((chunk) => chunk.usage)?.usage;
  if (finish === undefined || usage === undefined) return { outcome: "failed", reason: "no finish_reason or usage" };
  return { outcome: "answered", ms: performance.now() - started, tokens: usage.completion_tokens };
}

async function runAll(total, workers, offset) {
  const results = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) {
        const index = offset + next++;
        results.push(await send(index));
      }
    }),
  );
  return results;
}

/** Waits until no request is generating or waiting (cancelled ones free their slot at the next token). */
async function settled() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const state = await health();
    if (state.busy === 0 && state.waiting === 0) return state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return health();
}

await runAll(count("warmup"), 1, 1_000_000);
const before = (await settled()).memory;
const started = performance.now();
const results = await runAll(requests, concurrency, 0);
const seconds = (performance.now() - started) / 1000;
const after = await settled();
server.kill("SIGTERM");
const exitCode = await exited;

const tally = (outcome) => results.filter((result) => result.outcome === outcome).length;
const answered = results.filter((result) => result.outcome === "answered");
const latencies = answered.map((result) => result.ms).sort((a, b) => a - b);
const percentile = (share) => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))] ?? null;
const tokens = answered.reduce((sum, result) => sum + result.tokens, 0);
const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const summary = {
  requests,
  concurrency,
  answered: answered.length,
  refused: tally("refused"),
  cancelled: tally("cancelled"),
  failed: tally("failed"),
  failures: [...new Set(results.filter((result) => result.outcome === "failed").map((result) => result.reason))],
  seconds: Math.round(seconds * 100) / 100,
  answeredPerSecond: Math.round((answered.length / seconds) * 100) / 100,
  p50Ms: percentile(0.5) === null ? null : Math.round(percentile(0.5)),
  p95Ms: percentile(0.95) === null ? null : Math.round(percentile(0.95)),
  tokensPerSecond: Math.round((tokens / seconds) * 10) / 10,
  slotsFree: after.busy === 0 && after.waiting === 0,
  memoryMiB: {
    before: { rss: mib(before.rss), heapUsed: mib(before.heapUsed), arrayBuffers: mib(before.arrayBuffers) },
    after: {
      rss: mib(after.memory.rss),
      heapUsed: mib(after.memory.heapUsed),
      arrayBuffers: mib(after.memory.arrayBuffers),
    },
  },
  serverExit: exitCode,
};
if (flags.json) {
  console.log(JSON.stringify(summary));
} else {
  const { before: b, after: a } = summary.memoryMiB;
  console.log(
    [
      `${requests} requests, ${concurrency} at once: ${summary.answered} answered, ${summary.refused} refused (429/503), ${summary.cancelled} cancelled by the client, ${summary.failed} failed`,
      `${summary.seconds} s: ${summary.answeredPerSecond} answered requests/s, p50 ${summary.p50Ms} ms, p95 ${summary.p95Ms} ms, ${summary.tokensPerSecond} tokens/s`,
      `server memory after warm-up → after the load: rss ${b.rss} → ${a.rss} MiB, heap ${b.heapUsed} → ${a.heapUsed} MiB, array buffers ${b.arrayBuffers} → ${a.arrayBuffers} MiB`,
      `slots free afterwards: ${summary.slotsFree}; server exit on SIGTERM: ${exitCode}`,
      ...summary.failures.map((reason) => `failure: ${reason}`),
    ].join("\n"),
  );
}
process.exit(summary.failed === 0 && summary.slotsFree && exitCode === 0 ? 0 : 1);
