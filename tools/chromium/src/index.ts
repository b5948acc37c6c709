/**
 * `@minimind/chromium-harness` (private, dev-only; tools/chromium): bundle a browser entry module with esbuild, serve
 * it from 127.0.0.1 and call one of its exports inside headless Chromium (driven by playwright-core), handing back the
 * result and the page's console output. Used by @minimind/tensor's browser tests and by the bench `gpujs` suite.
 * Consumed as TypeScript source (its exports map points at this file): vitest and tsx transform it, and `tsc` in a
 * consumer checks it with that consumer's settings; it has no build step and is never published.
 *
 * The page is served cross-origin isolated (COOP same-origin + COEP require-corp), so `crossOriginIsolated` is true
 * there and SharedArrayBuffer, and with it the CPU backend's matmul worker threads, are available.
 *
 * Chromium flags (measured on Debian 12, Chromium 156.0.8078.108, playwright-core 1.65.1, no GPU, running as root):
 *   - WebGL2 needs no flags: with no GPU, ANGLE runs on SwiftShader's Vulkan ICD, which Debian's chromium package
 *     ships as /usr/lib/chromium/libvk_swiftshader.so (renderer string "ANGLE (Google, Vulkan 1.3.0 (SwiftShader
 *     Device (Subzero) ...), SwiftShader driver)").
 *   - WebGPU needs `--enable-unsafe-webgpu`; without it `navigator.gpu` exists but `requestAdapter()` resolves null
 *     ("No available adapters."). With it, Dawn picks the same SwiftShader Vulkan device (adapter info vendor
 *     "google", architecture "swiftshader"). `--enable-features=Vulkan` is not required here but harmless and kept
 *     for machines whose Chromium build needs it; no `--use-angle`, `--use-webgpu-adapter` or
 *     `--enable-webgpu-developer-features` flag and no apt package (mesa-vulkan-drivers) is needed.
 *   - `--no-sandbox` is added when running as root (Chromium refuses to start its sandbox as root).
 * A full probe run (bundle ≈0.5–0.9 s for gpu.js, launch ≈2.5 s, kernels, close) takes ≈5–7 s on 2 cores.
 */
import { accessSync, constants } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium } from "playwright-core";

export interface ChromiumRun {
  /** What the export resolved to, after Playwright's structured serialisation (JSON values, plus NaN/±Infinity/-0,
   * Date, typed arrays). */
  result: unknown;
  /** Every console message from the page, in order, as `[type] text`. */
  console: string[];
}

export interface RunInChromiumOptions {
  /** Absolute path of the TS/JS module to bundle and load in the page. */
  entry: string;
  /** Chromium command-line flags; replaces DEFAULT_FLAGS (`--no-sandbox` is still added when running as root). */
  flags?: string[];
  /** Limit for the whole run: bundle, launch, load and the call itself. Default 60 s. */
  timeoutMs?: number;
  /** Name of the async function the entry exports. Default "main". */
  exportName?: string;
  /** Passed to the export as its only argument, through the same serialisation as the result. */
  args?: unknown;
  /**
   * Static files the page may fetch, served at `/files/<name>` (same origin; `name` may hold `/`). An unknown
   * name answers 404, as a web server would, so code that probes for optional files can be tested.
   */
  files?: Readonly<Record<string, Uint8Array | string>>;
}

export const DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium";

/** Flags that give both WebGL2 (ANGLE/SwiftShader) and WebGPU (Dawn/Vulkan/SwiftShader) here; see the file header. */
export const DEFAULT_FLAGS: readonly string[] = ["--enable-unsafe-webgpu", "--enable-features=Vulkan"];

const DEFAULT_TIMEOUT_MS = 60_000;

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
}

/** Cheap check (no launch) that a Chromium executable is present, for `it.skipIf`. */
export function chromiumAvailable(): { ok: true } | { ok: false; reason: string } {
  const path = chromiumPath();
  try {
    accessSync(path, constants.X_OK);
    return { ok: true };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `no executable Chromium at ${path} (set CHROMIUM_PATH): ${why}` };
  }
}

async function bundle(entry: string): Promise<string> {
  const built = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    sourcemap: "inline",
    write: false,
    outfile: "entry.js",
    logLevel: "silent",
  });
  const output = built.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return output.text;
}

/**
 * The page, with the in-page runner. The runner lives here as plain JS (not as a function passed to page.evaluate)
 * because vitest/vite rewrite `import()` in test-side code to `__vite_ssr_dynamic_import__`, which does not exist in
 * the browser. Errors are caught in the page so their message and stack come back intact.
 */
const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>chromium harness</title>
<script type="module">
globalThis.__harnessRun = async (name, args) => {
  try {
    const mod = await import("/entry.js");
    const fn = mod[name];
    if (typeof fn !== "function") return { ok: false, error: \`entry does not export a function named "\${name}"\` };
    return { ok: true, value: await fn(args) };
  } catch (error) {
    if (error instanceof Error) {
      const stack = error.stack ?? "";
      return { ok: false, error: stack.includes(error.message) ? stack : \`\${error.name}: \${error.message}\\n\${stack}\` };
    }
    return { ok: false, error: "non-Error thrown: " + String(error) };
  }
};
</script></head><body></body></html>
`;

/** What the in-page wrapper hands back: errors are caught in the page so their stack survives intact. */
type PageOutcome = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Built from a string so that no test-side transform (vite's SSR rewrite, coverage instrumentation) can inject
 * Node-only identifiers into code that runs in the page. A function, not a string expression: with a function
 * Playwright serialises arguments and the result with its rich format (typed arrays, NaN, -0 survive); with a string
 * expression the result comes back as plain JSON (NaN becomes null, a Float32Array becomes {"0": ...}).
 */
const callRunner = new Function("call", "return globalThis.__harnessRun(call.name, call.args);") as (call: {
  name: string;
  args: unknown;
}) => Promise<PageOutcome>;

/**
 * Serves `/`, `/entry.js` and `/files/<name>` on a random free port, cross-origin isolated so SharedArrayBuffer
 * is available.
 */
async function serve(
  code: string,
  files: Readonly<Record<string, Uint8Array | string>> = {},
): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    response.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    response.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    response.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    response.setHeader("Cache-Control", "no-store");
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    if (path === "/" || path === "/index.html") {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(INDEX_HTML);
    } else if (path === "/entry.js") {
      response.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" }).end(code);
    } else if (path.startsWith("/files/") && Object.hasOwn(files, decodeURIComponent(path.slice(7)))) {
      const body = files[decodeURIComponent(path.slice(7))] as Uint8Array | string;
      response.writeHead(200, { "Content-Type": "application/octet-stream" }).end(body);
    } else if (path === "/favicon.ico") {
      response.writeHead(204).end();
    } else {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

function describePageError(error: Error): string {
  const stack = error.stack ?? "";
  return stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`;
}

/**
 * Bundles `entry`, loads it in headless Chromium and resolves with `await entry[exportName](args)`. Rejects, with the
 * browser-side message and stack, if the export throws, the page throws an uncaught error or crashes, or the run
 * exceeds `timeoutMs`. The browser and the server are always shut down.
 */
export async function runInChromium(options: RunInChromiumOptions): Promise<ChromiumRun> {
  const exportName = options.exportName ?? "main";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const flags = [...(options.flags ?? DEFAULT_FLAGS)];
  if (process.getuid?.() === 0 && !flags.includes("--no-sandbox")) flags.push("--no-sandbox");

  const consoleLines: string[] = [];
  let server: Server | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failPage: (error: Error) => void = () => {};
  const pageFailure = new Promise<never>((_, reject) => {
    failPage = reject;
  });
  // Not every run has a failure; keep an unobserved rejection from surfacing as unhandled.
  pageFailure.catch(() => {});
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`runInChromium(${options.entry}) timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });

  let finished = false;
  const run = async (): Promise<unknown> => {
    const code = await bundle(options.entry);
    if (finished) throw new Error("run abandoned");
    const served = await serve(code, options.files);
    server = served.server;
    if (finished) {
      served.server.close();
      throw new Error("run abandoned");
    }
    const launched = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: flags });
    if (finished) {
      // The run timed out while Chromium was starting; the finally block has already run, so close it here.
      await launched.close();
      served.server.close();
      throw new Error("run abandoned");
    }
    browser = launched;
    const page = await browser.newPage();
    page.on("console", (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) =>
      failPage(new Error(`uncaught error in Chromium page: ${browserStack(describePageError(error))}`)),
    );
    page.on("crash", () => failPage(new Error("Chromium page crashed")));
    await page.goto(`${served.origin}/`);
    const outcome = await Promise.race([
      page.evaluate(callRunner, { name: exportName, args: options.args }),
      pageFailure,
    ]);
    if (!outcome.ok) throw new Error(`${exportName}() failed in Chromium: ${browserStack(outcome.error)}`);
    return outcome.value;
  };

  try {
    const result = await Promise.race([run(), timeout]);
    return { result, console: consoleLines };
  } catch (error) {
    if (error instanceof Error && consoleLines.length > 0) {
      error.message += `\n--- browser console ---\n${consoleLines.join("\n")}`;
    }
    throw error;
  } finally {
    finished = true;
    clearTimeout(timer);
    await browser?.close().catch(() => {});
    const openServer = server;
    if (openServer !== undefined) {
      openServer.closeAllConnections();
      await new Promise<void>((resolve) => openServer.close(() => resolve()));
    }
  }
}

/**
 * Browser stack frames name the page's http://127.0.0.1:<port>/ URLs; test runners that source-map error text
 * try to read those as files (vitest fails with EISDIR on the bare "/"). Rename them to `chromium:<file>`.
 */
function browserStack(text: string): string {
  return text.replace(
    /https?:\/\/127\.0\.0\.1:\d+\/([^\s):]*)/g,
    (_, file: string) => `chromium:${file || "index.html"}`,
  );
}

/**
 * For test files: "" when Chromium is here; otherwise the reason, after a visible warning naming `suite` —
 * except with CI set (CI installs Chromium), where a missing Chromium is an error, not a skip.
 */
export function chromiumSkipReason(suite: string): string {
  const availability = chromiumAvailable();
  if (availability.ok) return "";
  if (process.env.CI) throw new Error(`${suite}: CI requires Chromium: ${availability.reason}`);
  console.warn(`${suite}: skipping, ${availability.reason}`);
  return availability.reason;
}
