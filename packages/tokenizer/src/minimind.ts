/**
 * MiniMind's own tokenizer files (© the MiniMind authors, Apache-2.0; see data/NOTICE), embedded in the
 * bundle at build time so that `Tokenizer.minimind()` needs no path and works the same from the ESM and
 * CJS builds, from a packed tarball and in a browser bundle. Not a download: nothing is fetched.
 */

import tokenizerJson from "../data/tokenizer.json";
import tokenizerConfig from "../data/tokenizer_config.json";
import { expandMerges } from "./embedded-merges.js";

/** The file's own object: the build embeds its merges compacted (embedded-merges.ts), restored here. */
export const minimindTokenizerJson: unknown = expandMerges(tokenizerJson);
export const minimindTokenizerConfig: unknown = tokenizerConfig;
