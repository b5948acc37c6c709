/**
 * The HTTP side of `minimind serve`, on node:http only: routing (`POST /v1/chat/completions`,
 * `GET /v1/models`, `GET /v1/models/{id}`, `GET /health`), the API key, a bounded request body, JSON and SSE
 * answers (`data: {chunk}` events ending in `data: [DONE]`), OpenAI-style error bodies with the fitting status
 * (400, 401, 404, 405, 413, 429, 500, 503), cancellation when a client disconnects (its generation stops and
 * its slot frees), and a graceful close: stop accepting, refuse the queue, let running answers finish within
 * a deadline, then abort them. Not here: what a completion is (completions.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, invalidRequest, serverError } from "./api-error.js";
import { ChunkStream, type CompletionSettings, runCompletion, WholeAnswer } from "./completions.js";
import { checkApiKey, parseChatRequest } from "./request.js";

export interface ServerOptions extends CompletionSettings {
  host: string;
  port: number;
  apiKey: string | undefined;
  /** The largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** One line per answered request (method, path, status, tokens, seconds), e.g. to stderr. */
  log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  /**
   * Stops accepting connections, refuses waiting requests (503), lets running ones finish for up to
   * `graceMs`, then aborts them; resolves once every connection is closed. Calling it again with a shorter
   * grace (0: now) hastens the abort.
   */
  close(graceMs: number): Promise<void>;
}

const routes: Record<string, string[]> = {
  "/v1/chat/completions": ["POST"],
  "/v1/models": ["GET"],
  "/health": ["GET"],
};

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.status, error.body(), { ...error.headers });
}

/** The body as JSON, refusing (413) more than `limit` bytes before reading them all. */
async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = () =>
    new ApiError(
      413,
      `the request body is larger than ${limit} bytes (--max-body-bytes)`,
      "invalid_request_error",
      null,
      "request_too_large",
      { Connection: "close" },
    );
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidRequest(
      text.trim() === ""
        ? "the request body is empty; expected a JSON object"
        : `the request body is not valid JSON: ${(error as Error).message}`,
      null,
      "invalid_json",
    );
  }
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const running = new Set<AbortController>();
  let closing = false;
  let closed: Promise<void> | undefined;

  async function chatCompletions(request: IncomingMessage, response: ServerResponse, signal: AbortSignal) {
    const started = performance.now();
    const body = parseChatRequest(await readJsonBody(request, options.maxBodyBytes));
    let tokens = 0;
    if (!body.stream) {
      const whole = new WholeAnswer();
      tokens = (await runCompletion(options, body, signal, whole)).completion_tokens;
      sendJson(response, 200, whole.result);
    } else {
      const send = (chunk: Record<string, unknown>) => {
        if (!response.headersSent) {
          response.writeHead(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            Connection: "keep-alive",
            "X-Accel-Buffering": "no",
          });
        }
        response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      };
      const stream = new ChunkStream(send, body.includeUsage);
      try {
        tokens = (await runCompletion(options, body, signal, stream)).completion_tokens;
      } catch (error) {
        if (!response.headersSent || signal.aborted) throw error;
        // headers are gone: the error travels as an event, as OpenAI's streams report one
        const failure = error instanceof ApiError ? error : serverError(error);
        response.write(`data: ${JSON.stringify(failure.body())}\n\n`);
      }
      response.end("data: [DONE]\n\n");
    }
    options.log?.(
      `POST /v1/chat/completions 200 ${tokens} tokens ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
  }

  function models(path: string, response: ServerResponse): void {
    const model = { id: options.modelId, object: "model", created: 0, owned_by: "minimind" };
    if (path === "/v1/models") {
      sendJson(response, 200, { object: "list", data: [model] });
      return;
    }
    const id = decodeURIComponent(path.slice("/v1/models/".length));
    if (id === options.modelId) sendJson(response, 200, model);
    else
      throw new ApiError(404, `the model "${id}" does not exist`, "invalid_request_error", "model", "model_not_found");
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const controller = new AbortController();
    // The response closing before it finished means the client went away: stop its generation.
    response.on("close", () => {
      if (!response.writableFinished) controller.abort(new Error("the client closed the connection"));
    });
    running.add(controller);
    try {
      const path = (request.url ?? "/").split("?")[0] as string;
      const method = request.method ?? "GET";
      const routeMethods = path.startsWith("/v1/models/") ? ["GET"] : routes[path];
      if (routeMethods === undefined) {
        throw new ApiError(404, `unknown request URL: ${method} ${path}`, "invalid_request_error", null, "unknown_url");
      }
      if (!routeMethods.includes(method)) {
        throw new ApiError(
          405,
          `${method} is not allowed on ${path}; use ${routeMethods.join(", ")}`,
          "invalid_request_error",
          null,
          "method_not_allowed",
          { Allow: routeMethods.join(", ") },
        );
      }
      if (path === "/health") {
        const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
        sendJson(response, 200, {
          status: closing ? "closing" : "ok",
          ...options.slots.counts(),
          memory: { rss, heapUsed, arrayBuffers },
        });
        return;
      }
      checkApiKey(request.headers.authorization, options.apiKey);
      if (closing) {
        throw new ApiError(
          503,
          "the server is shutting down",
          "service_unavailable_error",
          null,
          "server_shutting_down",
        );
      }
      if (path === "/v1/chat/completions") await chatCompletions(request, response, controller.signal);
      else models(path, response);
    } catch (error) {
      if (controller.signal.aborted && !(error instanceof ApiError)) {
        // the client is gone, or shutdown's deadline passed: end the connection without an answer
        if (!response.writableEnded) response.destroy();
        return;
      }
      const failure = error instanceof ApiError ? error : serverError(error);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      sendError(response, failure);
      if (failure.status === 413) response.on("finish", () => request.destroy());
      options.log?.(`${request.method} ${request.url} ${failure.status} ${failure.code ?? ""}`);
    } finally {
      running.delete(controller);
      // while closing, a keep-alive connection that just went idle is closed so that close() can finish
      if (closing) setImmediate(() => server.closeIdleConnections());
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.log?.(`internal error: ${(error as Error).message}`);
      response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    server,
    close(graceMs) {
      closing = true;
      options.slots.close();
      if (closed === undefined) {
        closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
      }
      const deadline = setTimeout(() => {
        for (const controller of running) controller.abort(new Error("the server is shutting down"));
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      }, graceMs);
      return closed.finally(() => clearTimeout(deadline));
    },
  };
}
