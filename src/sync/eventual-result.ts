// crochet's EventualResult: a reactor call that blocking code can wait on and async code can await.
import { AlbanyError, ErrorCodes } from '../errors.js';
import { checkMs } from './options.js';
import { unwrap } from './outcome.js';
import type { PendingCall, ReactorLink } from './reactor.js';

/**
 * The result of {@link runInReactor}: a call already running in the reactor. Block on it with
 * {@link EventualResult.wait}, `await` it from async code, or {@link EventualResult.cancel} it.
 */
export class EventualResult<T = unknown> implements PromiseLike<T> {
  readonly #link: ReactorLink;
  readonly #call: PendingCall;
  readonly #timeoutMs: number;
  readonly #callerStack: string | undefined;
  #promise: Promise<T> | undefined;
  #error: unknown;

  /** @internal made by runInReactor */
  constructor(link: ReactorLink, call: PendingCall, timeoutMs: number, callerStack: string | undefined) {
    this.#link = link;
    this.#call = call;
    this.#timeoutMs = timeoutMs;
    this.#callerStack = callerStack;
  }

  /**
   * Blocks this thread until the call settles and returns its value (or throws its error).
   * On timeout throws `ERR_ALBANY_TIMEOUT` but leaves the call running: wait again, or cancel it.
   */
  wait(timeoutMs: number = this.#timeoutMs): T {
    checkMs('timeoutMs', timeoutMs, true);
    if (this.#call.outcome === undefined) {
      const outcome = this.#link.wait(this.#call, timeoutMs, false);
      if (outcome.type === 'failed' && outcome.error.code === ErrorCodes.ERR_ALBANY_TIMEOUT) throw outcome.error;
    }
    return this.#settled();
  }

  /**
   * Gives up on the call: its AbortSignal (`this.signal` in the async export) aborts, and waiting
   * or awaiting this result fails with `ERR_ALBANY_ABORTED`. No effect once it has settled.
   */
  cancel(): void {
    if (this.#call.outcome !== undefined) return;
    this.#link.cancel(this.#call);
    const error = new AlbanyError(
      ErrorCodes.ERR_ALBANY_ABORTED,
      `${this.#call.exportName} of ${this.#call.module} was cancelled`,
    );
    this.#call.outcome = { type: 'failed', error };
    const cb = this.#call.onSettle;
    this.#call.onSettle = undefined;
    cb?.(this.#call.outcome);
  }

  /** The error the call failed with (as rebuilt on this side), or undefined if it has not failed. */
  get originalError(): unknown {
    if (this.#call.outcome === undefined) return undefined;
    try {
      this.#settled();
      return undefined;
    } catch (err) {
      return err;
    }
  }

  /** Lets async code `await` the call; fails with `ERR_ALBANY_TIMEOUT` after the call's timeout. */
  // biome-ignore lint/suspicious/noThenProperty: an EventualResult is awaitable on purpose.
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.#promise ??= this.#await();
    return this.#promise.then(onFulfilled, onRejected);
  }

  #await(): Promise<T> {
    if (this.#call.outcome !== undefined) return new Promise<T>((resolve) => resolve(this.#settled()));
    return new Promise<T>((resolve, reject) => {
      const link = this.#link;
      link.listen();
      const timer =
        this.#timeoutMs === Infinity
          ? undefined
          : setTimeout(() => {
              link.cancel(this.#call);
              const error = new AlbanyError(
                ErrorCodes.ERR_ALBANY_TIMEOUT,
                `${this.#call.exportName} of ${this.#call.module} did not settle within ${this.#timeoutMs} ` +
                  `ms in the reactor`,
              );
              this.#call.outcome = { type: 'failed', error };
              this.#call.onSettle?.(this.#call.outcome);
            }, this.#timeoutMs).unref();
      this.#call.onSettle = () => {
        this.#call.onSettle = undefined;
        clearTimeout(timer);
        link.unlisten();
        try {
          resolve(this.#settled());
        } catch (err) {
          reject(err);
        }
      };
    });
  }

  #settled(): T {
    if (this.#error !== undefined) throw this.#error;
    try {
      return unwrap(this.#call.outcome!, () => this.#callerStack) as T;
    } catch (err) {
      this.#error = err;
      throw err;
    }
  }
}
