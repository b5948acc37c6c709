import { run } from "@minimind/cli";

const exitCode = await run(["tokenize", "--text", "Hello World"]); // prints "1602 2968", returns 0

// run never throws: a mistake is an exit code and a line on stderr, which { stdout, stderr } can capture.
const errors: string[] = [];
const usage = await run(["tokenize", "--decode", "1e3"], { stderr: (text) => errors.push(text) });
console.log(exitCode, usage, errors[0]); // 0 2 minimind tokenize: option '--decode [ids...]' argument '1e3' is invalid. …
