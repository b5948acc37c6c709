import { describe, expect, it } from "vitest";
import { Tokenizer } from "./tokenizer.js";

const tokenizer = Tokenizer.minimind();

describe("applyChatTemplate set up as transformers does", () => {
  it("trims the newline after a block tag and the indentation before it", () => {
    const template =
      "{% for message in messages %}\n    {% if message.role == 'user' %}\n[{{ message.content }}]\n    {% endif %}\n{% endfor %}";
    const text = tokenizer.applyChatTemplate(
      [
        { role: "user", content: "a" },
        { role: "system", content: "b" },
      ],
      {
        chatTemplate: template,
      },
    );
    expect(text).toBe("[a]\n");
  });

  it("renders tojson with Python's separators and non-ASCII kept", () => {
    const text = tokenizer.applyChatTemplate([{ role: "user", content: "x" }], {
      chatTemplate: "{{ messages[0] | tojson }}|{{ {'城市': [1, 2.5, none, true]} | tojson }}",
    });
    expect(text).toBe('{"role": "user", "content": "x"}|{"城市": [1, 2.5, null, true]}');
  });

  it("provides raise_exception, the special tokens and extra variables", () => {
    expect(() =>
      tokenizer.applyChatTemplate([{ role: "user", content: "x" }], {
        chatTemplate: "{{ raise_exception('only system messages here') }}",
      }),
    ).toThrow(/chat_template failed to render: .*only system messages here/);
    const text = tokenizer.applyChatTemplate([], {
      chatTemplate: "{{ bos_token }}{{ eos_token }}{{ pad_token }}{{ greeting }}",
      variables: { greeting: "你好" },
    });
    expect(text).toBe("<|im_start|><|im_end|><|endoftext|>你好");
  });

  it("passes open_thinking only when given, and tokenizes on request", () => {
    const messages = [{ role: "user", content: "hi" }];
    const closed = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    const open = tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, openThinking: true });
    expect(closed.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
    expect(open.endsWith("<|im_start|>assistant\n<think>\n")).toBe(true);
    expect(tokenizer.applyChatTemplate(messages, { tokenize: true })).toEqual(
      tokenizer.encode(tokenizer.applyChatTemplate(messages)),
    );
  });

  it("refuses what would render silently as empty: non-string content, unknown roles, bad options", () => {
    const refused: [unknown, object, string][] = [
      [
        [{ role: "user", content: 42 }],
        {},
        "messages[0].content is 42; expected a string (only an assistant turn, e.g. one with tool_calls, may leave it out)",
      ],
      [[{ role: "system" }], {}, "messages[0].content is undefined; expected a string"],
      [
        [{ role: "user", content: [{ type: "text", text: "hi" }] }],
        {},
        'messages[0].content is [{"type":"text","text":"hi"}]; expected a string',
      ],
      [[{ role: "robot", content: "hi" }], {}, 'messages[0].role is "robot"; expected system, user, assistant, tool'],
      [[{ role: "assistant", content: "a", reasoning_content: 1 }], {}, "messages[0].reasoning_content is 1"],
      [[{ role: "assistant", content: null, tool_calls: "x" }], {}, 'messages[0].tool_calls is "x"; expected an array'],
      [{ role: "user" }, {}, 'messages is {"role":"user"}; expected an array'],
      [[], { addGenerationprompt: true }, 'unknown option "addGenerationprompt"'],
      [[], { openThinking: "yes" }, 'openThinking is "yes"; expected true or false'],
      [[], { tools: {} }, "tools is {}; expected an array of tool schemas"],
    ];
    for (const [messages, options, message] of refused) {
      expect(() => tokenizer.applyChatTemplate(messages as never, options)).toThrow(
        `[tokenizer] applyChatTemplate: ${message}`,
      );
    }
    // null content beside tool_calls renders; a caller's own template may define its own roles
    expect(tokenizer.applyChatTemplate([{ role: "assistant", content: null, tool_calls: [] }])).toContain("assistant");
    expect(
      tokenizer.applyChatTemplate([{ role: "robot", content: "beep" }], {
        chatTemplate: "{{ messages[0].role }}:{{ messages[0].content }}",
      }),
    ).toBe("robot:beep");
  });

  it("reports bad input clearly", () => {
    expect(() => tokenizer.applyChatTemplate([{ content: "x" } as never])).toThrow(
      "[tokenizer] applyChatTemplate: messages[0] must be an object with a string role",
    );
    expect(() => tokenizer.applyChatTemplate([], { chatTemplate: "{% if %}" })).toThrow(/chat_template does not parse/);
    const noTemplate = new Tokenizer(
      JSON.parse(
        JSON.stringify({ model: { type: "BPE", vocab: { a: 0 }, merges: [] }, pre_tokenizer: { type: "ByteLevel" } }),
      ),
    );
    expect(() => noTemplate.applyChatTemplate([])).toThrow(/has no chat_template; pass options.chatTemplate/);
  });
});
