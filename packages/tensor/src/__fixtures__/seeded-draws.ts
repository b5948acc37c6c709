/**
 * Child-process half of the cross-process reproducibility test: prints seeded draws as JSON so the parent
 * can compare them with the same draws made in its own process. Run with `node --import tsx`.
 */
import { seededDraws } from "./seeded-draws-shared.js";

process.stdout.write(JSON.stringify(seededDraws()));
