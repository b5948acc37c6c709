/**
 * Entry for `bench/device.sh`: the gpujs suite alone, as JSON lines on stdout (progress on stderr), bundled into
 * one file with @minimind/tensor and gpu.js so it runs on a machine with nothing installed but the carried Node.
 */
import { gpujsSuite } from "./suites/gpujs.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
log(`# ${gpujsSuite.name}: ${gpujsSuite.description}`);
for await (const result of gpujsSuite.run({ log })) process.stdout.write(`${JSON.stringify(result)}\n`);
