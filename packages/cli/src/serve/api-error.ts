/**
 * Errors of `minimind serve` as OpenAI-compatible HTTP answers: a status code and the body
 * `{ "error": { "message", "type", "param", "code" } }` that OpenAI's API (and vLLM, llama-server) send, which
 * the official clients turn into typed exceptions (`BadRequestError`, `AuthenticationError`, …).
 * Not here: deciding when a request is wrong (request.ts) or sending the answer (http.ts).
 */

export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "server_error"
  | "service_unavailable_error";

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400: the request is malformed; `param` names the field at fault (`messages[1].role`). */
export function invalidRequest(message: string, param: string | null = null, code = "invalid_value"): ApiError {
  return new ApiError(400, message, "invalid_request_error", param, code);
}

/** 500: the model failed while answering (a library error), with its message. */
export function serverError(error: unknown): ApiError {
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, `the model failed: ${message}`, "server_error", null, "internal_error");
}
