// The request whose app call started last and has not settled: one store per request, read only by
// the blocking detector when the main loop is stuck (no async_hooks, nothing else on the hot path).

/** What the detector needs to name a request. */
export interface CurrentRequestHead {
  /** Request method. */
  readonly method: string;
  /** Raw request target (path and query). */
  readonly target: string;
}

/**
 * The slot the host writes (`currentRequest.head = head` when a request's app call starts, cleared
 * when that request settles). One object with one property, so the write is a single monomorphic
 * store. It names the request whose app call started last: a block in the continuation of an older
 * request that awaited while a newer one started is named by its stack, not by this slot.
 */
export const currentRequest: { head: CurrentRequestHead | undefined } = { head: undefined };
