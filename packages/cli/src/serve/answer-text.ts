/**
 * Turns the model's raw generated text, chunk by chunk, into what an OpenAI answer carries: `content`,
 * `reasoning_content` (the text of a `<think>…</think>` block, upstream MiniMind's extension) and
 * `tool_calls` (each `<tool_call>{"name", "arguments"}</tool_call>` when the request gave tools), with stop
 * strings cut as OpenAI's `stop` does. Text that could still turn into a marker or a stop string is held back
 * until it is decided, so a stream never shows half a `</think>`. The same pass serves streamed and whole
 * answers. A tool call whose JSON does not parse stays in the content, as text. Not here: HTTP, SSE framing.
 */

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** What one chunk of generated text adds to the answer. */
export interface AnswerDelta {
  content: string;
  reasoning: string;
  toolCalls: ToolCall[];
}

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";
const TOOL_OPEN = "<tool_call>";
const TOOL_CLOSE = "</tool_call>";

/** The length of the longest suffix of `text` that is a proper prefix of one of `markers`. */
function partialMarkerLength(text: string, markers: readonly string[]): number {
  let longest = 0;
  for (const marker of markers) {
    for (let length = Math.min(marker.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(marker.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

type Channel = "start" | "reasoning" | "content" | "tool";

export class AnswerText {
  /** True once a stop string was seen: generation should end. */
  stopped = false;
  private stopBuffer = "";
  private finished = false;
  private afterThinking = false;
  private channel: Channel;
  private pending = "";
  private toolText = "";
  private toolCount = 0;
  private reasoningStarted = false;

  /**
   * `thinking`: the prompt left a `<think>` block open, so the answer starts as reasoning. `tools`: parse
   * `<tool_call>` blocks. `stop`: stop strings, matched in the raw text. `idPrefix` names tool calls.
   */
  constructor(
    private readonly options: { thinking: boolean; tools: boolean; stop: readonly string[]; idPrefix: string },
  ) {
    this.channel = options.thinking ? "reasoning" : "start";
  }

  /** Feeds the next chunk of generated text; returns what can be emitted now. */
  push(chunk: string): AnswerDelta {
    if (this.stopped) return { content: "", reasoning: "", toolCalls: [] };
    // Stage 1, stop strings on the raw text: what could still begin a stop string waits in stopBuffer.
    this.stopBuffer += chunk;
    let cut = -1;
    for (const stop of this.options.stop) {
      const at = this.stopBuffer.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.pending += this.stopBuffer.slice(0, cut);
      this.stopBuffer = "";
      this.stopped = true;
      return this.drain(true);
    }
    const keep = partialMarkerLength(this.stopBuffer, this.options.stop);
    this.pending += this.stopBuffer.slice(0, this.stopBuffer.length - keep);
    this.stopBuffer = this.stopBuffer.slice(this.stopBuffer.length - keep);
    return this.drain(false);
  }

  /** Ends the answer: everything held back is emitted (an unfinished tool call as content). */
  finish(): AnswerDelta {
    if (this.finished) return { content: "", reasoning: "", toolCalls: [] };
    this.pending += this.stopBuffer;
    this.stopBuffer = "";
    return this.drain(true);
  }

  /** Stage 2: splits the text that passed the stop filter into reasoning, content and tool calls. */
  private drain(final: boolean): AnswerDelta {
    const delta: AnswerDelta = { content: "", reasoning: "", toolCalls: [] };
    if (final) this.finished = true;
    let text = this.pending;
    this.pending = "";
    for (;;) {
      if (this.channel === "start") {
        // without an open <think>, a model may still begin its answer with a whole <think>…</think> block
        const trimmed = text.replace(/^\s+/, "");
        if (trimmed.startsWith(THINK_OPEN)) {
          text = trimmed.slice(THINK_OPEN.length);
          this.channel = "reasoning";
          continue;
        }
        if (!final && (trimmed === "" || THINK_OPEN.startsWith(trimmed))) {
          this.pending = text + this.pending;
          return delta;
        }
        this.channel = "content";
        continue;
      }
      if (this.channel === "reasoning") {
        const close = text.indexOf(THINK_CLOSE);
        if (close !== -1) {
          this.addReasoning(delta, text.slice(0, close));
          text = text.slice(close + THINK_CLOSE.length);
          this.afterThinking = true;
          this.channel = "content";
          continue;
        }
        const keep = final ? 0 : partialMarkerLength(text, [THINK_CLOSE]);
        this.addReasoning(delta, text.slice(0, text.length - keep));
        this.pending = text.slice(text.length - keep) + this.pending;
        return delta;
      }
      if (this.channel === "content") {
        if (this.afterThinking) {
          // the newlines after </think> separate the blocks; they are not part of the answer
          text = text.replace(/^\n+/, "");
          if (text === "") return delta;
          this.afterThinking = false;
        }
        const open = this.options.tools ? text.indexOf(TOOL_OPEN) : -1;
        if (open !== -1) {
          delta.content += text.slice(0, open);
          this.toolText = "";
          text = text.slice(open + TOOL_OPEN.length);
          this.channel = "tool";
          continue;
        }
        const keep = final || !this.options.tools ? 0 : partialMarkerLength(text, [TOOL_OPEN]);
        delta.content += text.slice(0, text.length - keep);
        this.pending = text.slice(text.length - keep) + this.pending;
        return delta;
      }
      // inside <tool_call>: collect until </tool_call>
      const close = (this.toolText + text).indexOf(TOOL_CLOSE);
      if (close === -1) {
        this.toolText += text;
        if (final) delta.content += TOOL_OPEN + this.toolText;
        return delta;
      }
      const whole = this.toolText + text;
      const call = this.parseToolCall(whole.slice(0, close));
      if (call === undefined) delta.content += `${TOOL_OPEN}${whole.slice(0, close)}${TOOL_CLOSE}`;
      else delta.toolCalls.push(call);
      text = whole.slice(close + TOOL_CLOSE.length);
      this.toolText = "";
      this.channel = "content";
    }
  }

  private addReasoning(delta: AnswerDelta, text: string): void {
    // the template opens the block with "<think>\n": drop the newlines before the first reasoning text
    const shown = this.reasoningStarted ? text : text.replace(/^\n+/, "");
    if (shown !== "") this.reasoningStarted = true;
    delta.reasoning += shown;
  }

  private parseToolCall(text: string): ToolCall | undefined {
    let call: unknown;
    try {
      call = JSON.parse(text.trim());
    } catch {
      return undefined;
    }
    if (typeof call !== "object" || call === null || typeof (call as { name?: unknown }).name !== "string") {
      return undefined;
    }
    const { name, arguments: args } = call as { name: string; arguments?: unknown };
    const id = `${this.options.idPrefix}_${this.toolCount++}`;
    const argumentsText = typeof args === "string" ? args : JSON.stringify(args ?? {});
    return { id, type: "function", function: { name, arguments: argumentsText } };
  }
}
