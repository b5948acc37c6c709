/**
 * @minimind/model — public API. Only what is exported here is public; everything else is private.
 */
export const packageName = "@minimind/model";
