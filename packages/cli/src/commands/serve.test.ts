/**
 * `minimind serve` through the official `openai` client and raw HTTP, on loopback, against the built CLI run
 * as a subprocess. The answers are exact because the model is scripted (testing/scripted-model.ts): it
 * always answers SCRIPTED_ANSWER (a tool call in MiniMind's markup), or SCRIPTED_THINKING_ANSWER with the
 * <think> block open. Cancellation, the queue and shutdown use a tiny pretrained model, whose answers run on
 * to max_tokens.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { Tokenizer } from "@minimind/tokenizer";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtBin, runCli, temporaryFolder } from "../testing/built-cli.js";
import { SCRIPTED_ANSWER, SCRIPTED_THINKING_ANSWER, writeScriptedModel } from "../testing/scripted-model.js";
import { TINY_BATCHES, TINY_MODEL, writeTinyData } from "../testing/tiny-run.js";

const folder = temporaryFolder();
const scripted = writeScriptedModel(folder.path);
const tokenizer = Tokenizer.minimind();
const API_KEY = "test-key";

interface Server {
  url: string;
  process: ChildProcess;
  exit: Promise<number | string | null>;
  stderr: () => string;
}

function startServer(args: readonly string[]): Promise<Server> {
  const child = spawn(process.execPath, [builtBin, "serve", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exit = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
      const url = stdout.match(/^listening on (http:\/\/127\.0\.0\.1:\d+) /m)?.[1];
      if (url !== undefined) resolve({ url, process: child, exit, stderr: () => stderr });
    });
    exit.then((code) => reject(new Error(`minimind serve exited (${code}): ${stderr}`)));
  });
}

let server: Server;
let client: OpenAI;
beforeAll(async () => {
  server = await startServer(["--model", scripted, "--api-key", API_KEY, "--max-tokens", "200"]);
  client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  server?.process.kill("SIGTERM");
  await server?.exit;
  folder.remove();
});

const question = [{ role: "user" as const, content: "北京今天天气怎么样？" }];
const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "今天的天气",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** A JSON answer's error or usage. */
async function bodyOf(
  response: Response,
): Promise<{ error?: Record<string, unknown>; usage?: { completion_tokens: number } }> {
  return (await response.json()) as { error?: Record<string, unknown>; usage?: { completion_tokens: number } };
}

/** Counted independently of the server: the tokenizer's own rendering of the same conversation. */
function promptTokens(options: { tools?: unknown[]; thinking?: boolean } = {}): number {
  return tokenizer.encodeChat(question, {
    addGenerationPrompt: true,
    openThinking: options.thinking ?? false,
    ...(options.tools === undefined ? {} : { tools: options.tools }),
  }).ids.length;
}

describe("minimind serve with the openai client", () => {
  it("lists the served model", async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["minimind"]);
    expect((await client.models.retrieve("minimind")).id).toBe("minimind");
  });

  it("answers a non-streamed completion, with usage counted in tokens", async () => {
    const completion = await client.chat.completions.create({ model: "minimind", messages: question, seed: 3 });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: SCRIPTED_ANSWER });
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    const answerTokens = tokenizer.encode(SCRIPTED_ANSWER).length + 1; // and <|im_end|>
    expect(completion.usage).toEqual({
      prompt_tokens: promptTokens(),
      completion_tokens: answerTokens,
      total_tokens: promptTokens() + answerTokens,
    });
  });

  it("streams a completion as SSE chunks that add up to the same answer", async () => {
    const stream = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
      top_p: 0.9,
    });
    const pieces: string[] = [];
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      for (const choice of chunk.choices) {
        if (choice.delta.content) pieces.push(choice.delta.content);
        finishes.push(choice.finish_reason);
      }
      usage ??= chunk.usage;
    }
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join("")).toBe(SCRIPTED_ANSWER);
    expect(finishes.at(-1)).toBe("stop");
    expect(finishes.slice(0, -1).every((reason) => reason === null)).toBe(true);
    expect(usage?.completion_tokens).toBe(tokenizer.encode(SCRIPTED_ANSWER).length + 1);
  });

  it("returns a tool call when tools are given, streamed or not", async () => {
    const completion = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      tools: [weatherTool],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBe("你好！");
    expect(choice?.message.tool_calls).toHaveLength(1);
    const call = choice?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe("function");
    expect(call.id).toMatch(/^call_/);
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "北京" });
    expect(completion.usage?.prompt_tokens).toBe(promptTokens({ tools: [weatherTool] }));
    // the tool's schema reached the prompt: it is longer than without tools
    expect(promptTokens({ tools: [weatherTool] })).toBeGreaterThan(promptTokens() + 20);

    const stream = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      tools: [weatherTool],
      stream: true,
    });
    const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let content = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      content += delta?.content ?? "";
      calls.push(...(delta?.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(content).toBe("你好！");
    expect(finish).toBe("tool_calls");
    expect(calls.map((delta) => [delta.index, delta.function?.name, delta.function?.arguments])).toEqual([
      [0, "get_weather", '{"city":"北京"}'],
    ]);
    // a follow-up turn with the call and the tool's answer renders and answers
    const followUp = await client.chat.completions.create({
      model: "minimind",
      messages: [
        ...question,
        { role: "assistant", content: "", tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: '{"weather": "晴"}' },
      ],
      tools: [weatherTool],
    });
    expect(followUp.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("returns the <think> block as reasoning_content with thinking on (chat_template_kwargs or open_thinking)", async () => {
    const thinking = { chat_template_kwargs: { enable_thinking: true } } as Record<string, unknown>;
    const completion = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      ...thinking,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const message = completion.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    const [reasoning, answer] = SCRIPTED_THINKING_ANSWER.split("</think>");
    expect(message.reasoning_content).toBe(reasoning);
    expect(message.content).toBe(answer);
    expect(completion.usage?.prompt_tokens).toBe(promptTokens({ thinking: true }));

    const stream = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      stream: true,
      open_thinking: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let streamedReasoning = "";
    let streamedContent = "";
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined;
      streamedReasoning += delta?.reasoning_content ?? "";
      streamedContent += delta?.content ?? "";
    }
    expect([streamedReasoning, streamedContent]).toEqual([reasoning, answer]);
  });

  it("honours stop and max_tokens (finish_reason length)", async () => {
    const stopped = await client.chat.completions.create({
      model: "minimind",
      messages: question,
      stop: ["<tool_call>"],
    });
    expect(stopped.choices[0]?.message.content).toBe("你好！");
    expect(stopped.choices[0]?.finish_reason).toBe("stop");
    const short = await client.chat.completions.create({ model: "minimind", messages: question, max_tokens: 2 });
    expect(short.choices[0]?.finish_reason).toBe("length");
    expect(short.usage?.completion_tokens).toBe(2);
    expect(short.choices[0]?.message.content).toBe(tokenizer.decode(tokenizer.encode(SCRIPTED_ANSWER).slice(0, 2)));
  });

  it("refuses a wrong API key (401) and bad requests (400/404) with OpenAI error bodies", async () => {
    const stranger = new OpenAI({ apiKey: "wrong", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const denied = await stranger.chat.completions.create({ model: "minimind", messages: question }).catch((e) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(denied.status).toBe(401);
    expect(denied.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });

    const empty = await client.chat.completions.create({ model: "minimind", messages: [] }).catch((e) => e);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    expect(empty.error).toMatchObject({ type: "invalid_request_error", param: "messages" });
    const hot = await client.chat.completions
      .create({ model: "minimind", messages: question, temperature: 5 })
      .catch((e) => e);
    expect(hot).toBeInstanceOf(OpenAI.BadRequestError);
    expect(hot.error).toMatchObject({
      param: "temperature",
      message: "temperature is 5; expected a number from 0 to 2",
    });
    const role = await client.chat.completions
      .create({ model: "minimind", messages: [{ role: "wizard", content: "x" }] as never })
      .catch((e) => e);
    expect(role.error).toMatchObject({ param: "messages[0].role" });
    const long = await client.chat.completions
      .create({ model: "minimind", messages: question, max_tokens: 5000 })
      .catch((e) => e);
    expect(long.error).toMatchObject({
      param: "max_tokens",
      message: "max_tokens is 5000; this server allows at most 200 (--max-tokens)",
    });
    const unknown = await client.chat.completions.create({ model: "gpt-4o", messages: question }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.error).toMatchObject({ code: "model_not_found", param: "model" });
  });

  it("answers 404, 405, 413 and malformed JSON over raw HTTP", async () => {
    const headers = { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" };
    const notFound = await fetch(`${server.url}/v1/completions`, { method: "POST", headers, body: "{}" });
    expect(notFound.status).toBe(404);
    expect((await bodyOf(notFound)).error).toMatchObject({ code: "unknown_url" });
    const wrongMethod = await fetch(`${server.url}/v1/chat/completions`, { headers });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    const huge = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "minimind", messages: [{ role: "user", content: "长".repeat(600_000) }] }),
    }).catch((error: Error) => error);
    // the server answers 413 and closes; a client still sending may see the reset instead
    if (!(huge instanceof Error)) {
      expect(huge.status).toBe(413);
      expect((await bodyOf(huge)).error).toMatchObject({ code: "request_too_large" });
    }
    const broken = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers, body: "{not json" });
    expect(broken.status).toBe(400);
    expect((await bodyOf(broken)).error).toMatchObject({ code: "invalid_json", type: "invalid_request_error" });
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toMatchObject({ status: "ok", busy: 0, waiting: 0, slots: 1 });
  });
});

describe("minimind serve: cancellation, the bounded queue, shutdown and load", () => {
  const tiny = join(folder.path, "tiny");
  let busy: Server;
  beforeAll(async () => {
    const data = writeTinyData(folder.path);
    const pretrain = runCli([
      "pretrain",
      data.pretrain,
      "--out",
      tiny,
      ...TINY_MODEL,
      ...TINY_BATCHES,
      "--max-steps",
      "1",
    ]);
    expect(pretrain.status).toBe(0);
    busy = await startServer([
      "--model",
      tiny,
      "--parallel",
      "1",
      "--max-queue",
      "1",
      "--max-tokens",
      "4000",
      "--shutdown-timeout",
      "60",
    ]);
  });

  const request = (extra: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${busy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "minimind", messages: question, stream: true, max_tokens: 4000, ...extra }),
      ...(signal === undefined ? {} : { signal }),
    });

  /** Reads a stream until `events` SSE events have arrived. */
  async function readEvents(response: Response, events: number): Promise<string> {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (text.split("\n\n").length - 1 < events) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    reader.releaseLock();
    return text;
  }

  async function waitUntilIdle(): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 600; attempt++) {
      const state = (await (await fetch(`${busy.url}/health`)).json()) as Record<string, unknown>;
      if (state.busy === 0 && state.waiting === 0) return state;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the server never became idle");
  }

  it("stops generating when the client disconnects, frees the slot, refuses (429) beyond the queue", async () => {
    const first = new AbortController();
    const running = await request({}, first.signal);
    expect(running.status).toBe(200);
    await readEvents(running, 2);
    const second = new AbortController();
    const queued = request({}, second.signal); // waits for the slot: the queue holds one
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await request({});
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await bodyOf(refused)).error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
    first.abort(); // the running one goes away: the queued one gets the slot
    const next = await queued;
    expect(next.status).toBe(200);
    await readEvents(next, 2);
    second.abort();
    // 4,000 tokens would take minutes: idle now means both generations stopped
    const state = await waitUntilIdle();
    expect(state).toMatchObject({ busy: 0, waiting: 0 });
    const after = await request({ stream: false, max_tokens: 3 });
    expect(after.status).toBe(200);
    expect((await bodyOf(after)).usage?.completion_tokens).toBe(3);
  });

  it("load: 40 requests from 8 clients, some cancelled mid-stream, all answered or refused cleanly", () => {
    const script = join(builtBin, "..", "..", "scripts", "load-test-serve.mjs");
    const args = ["--model", tiny, "--requests", "40", "--concurrency", "8", "--max-tokens", "8"];
    args.push("--parallel", "2", "--max-queue", "2", "--cancel-every", "3", "--warmup", "2", "--json");
    const result = spawnSync(process.execPath, [script, ...args], { encoding: "utf8", timeout: 600_000 });
    expect(result.stderr).toBe("");
    const summary = JSON.parse(result.stdout) as Record<string, number | boolean | string[]>;
    expect(summary.failures).toEqual([]);
    expect(summary.failed).toBe(0);
    expect((summary.answered as number) + (summary.refused as number) + (summary.cancelled as number)).toBe(40);
    expect(summary.answered).toBeGreaterThan(0);
    expect(summary.cancelled).toBeGreaterThan(0);
    expect(summary.slotsFree).toBe(true);
    expect(summary.serverExit).toBe(0);
    expect(result.status).toBe(0);
  });

  it("on SIGTERM finishes the running answer, refuses new connections and exits 0", async () => {
    // a fresh connection (agent: false), not one the server may be closing after its keep-alive timeout
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const body = { model: "minimind", messages: question, stream: true, max_tokens: 12 };
      const post = httpRequest(`${busy.url}/v1/chat/completions`, { method: "POST", agent: false }, resolve);
      post.on("error", reject);
      post.end(JSON.stringify(body));
    });
    expect(response.statusCode).toBe(200);
    response.setEncoding("utf8");
    let text = "";
    for await (const chunk of response) {
      if (text === "") busy.process.kill("SIGTERM"); // after the first chunk
      text += chunk;
    }
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(text).toContain('"finish_reason":"length"');
    expect(await busy.exit).toBe(0);
    expect(busy.stderr()).toContain("SIGTERM: finishing running requests");
    await expect(fetch(`${busy.url}/health`)).rejects.toThrow();
  });
});
