// The lifespan protocol: tell the app the server is starting and stopping, and collect the state
// it sets up (DB pools, clients) so every request scope gets a copy.
import { AlbanyError, ErrorCodes } from '../errors.js';
import {
  GATEWAY_VERSION,
  SPEC_VERSION,
  type App,
  type LifespanReceiveMessage,
  type LifespanScope,
  type SendMessage,
} from '../gateway/types.js';
import type { LifespanMode, Logger } from './options.js';

type Outcome = { ok: true } | { ok: false; message: string };

/**
 * Drives one app through `lifespan.startup` and `lifespan.shutdown`. In `auto` mode an app that
 * throws before answering startup is taken as not supporting lifespan (like uvicorn); in `on` mode
 * that is a startup failure.
 */
export class Lifespan {
  /** What the app stored during startup; copied shallowly into each request scope. */
  readonly state: Record<string, unknown> = {};
  private readonly inbox: LifespanReceiveMessage[] = [];
  private wakeReceiver: (() => void) | undefined;
  private pending: ((outcome: Outcome) => void) | undefined;
  private running: Promise<void> | undefined;
  private unsupported = false;
  private startupDone = false;
  // Set once the app's lifespan call has returned or thrown: there is no one left to answer shutdown.
  private appEnded = false;

  constructor(
    private readonly app: App,
    private readonly mode: LifespanMode,
    private readonly logger: Logger,
  ) {}

  /** Sends `lifespan.startup` and waits for the app's answer; throws `ERR_ALBANY_LIFESPAN` on failure. */
  async startup(): Promise<void> {
    if (this.mode === 'off') return;
    const scope: LifespanScope = {
      type: 'lifespan',
      albany: { version: GATEWAY_VERSION, specVersion: SPEC_VERSION },
      state: this.state,
    };
    const answer = this.expect();
    this.running = Promise.resolve()
      .then(() =>
        this.app(
          scope,
          () => this.receive(),
          (m) => this.send(m),
        ),
      )
      .then(
        () => this.settle({ ok: false, message: 'the app returned from the lifespan scope without answering' }, true),
        (error: unknown) =>
          this.settle({ ok: false, message: error instanceof Error ? error.message : String(error) }, true, error),
      )
      .finally(() => (this.appEnded = true));
    this.push({ type: 'lifespan.startup' });
    const outcome = await answer;
    if (this.unsupported) return;
    if (!outcome.ok)
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_LIFESPAN, `lifespan startup failed: ${outcome.message}`);
    this.startupDone = true;
  }

  /** Sends `lifespan.shutdown` and waits for the app's answer; throws `ERR_ALBANY_LIFESPAN` on failure. */
  async shutdown(): Promise<void> {
    if (this.mode === 'off' || this.unsupported || !this.startupDone) return;
    if (this.appEnded) {
      this.logger.warn('lifespan: the app returned after startup, so there is no shutdown to run');
      return;
    }
    const answer = this.expect();
    this.push({ type: 'lifespan.shutdown' });
    const outcome = await answer;
    await this.running;
    if (!outcome.ok)
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_LIFESPAN, `lifespan shutdown failed: ${outcome.message}`);
  }

  private expect(): Promise<Outcome> {
    return new Promise((resolve) => (this.pending = resolve));
  }

  private settle(outcome: Outcome, appEnded: boolean, error?: unknown): void {
    if (appEnded && !this.startupDone && this.mode === 'auto' && this.pending) {
      // An app that does not know the lifespan scope: keep serving without it.
      this.unsupported = true;
      this.logger.info(
        `lifespan unsupported by the app (${outcome.ok ? 'returned' : outcome.message}); continuing without it`,
      );
    } else if (appEnded && error !== undefined) {
      this.logger.error(`lifespan: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    const pending = this.pending;
    this.pending = undefined;
    pending?.(outcome);
  }

  private push(message: LifespanReceiveMessage): void {
    this.inbox.push(message);
    const wake = this.wakeReceiver;
    this.wakeReceiver = undefined;
    wake?.();
  }

  private async receive(): Promise<LifespanReceiveMessage> {
    while (this.inbox.length === 0) await new Promise<void>((resolve) => (this.wakeReceiver = resolve));
    return this.inbox.shift()!;
  }

  private async send(message: SendMessage): Promise<void> {
    switch (message.type) {
      case 'lifespan.startup.complete':
      case 'lifespan.shutdown.complete':
        return this.settle({ ok: true }, false);
      case 'lifespan.startup.failed':
      case 'lifespan.shutdown.failed':
        return this.settle({ ok: false, message: message.message || '(no message)' }, false);
      default:
        throw new AlbanyError(
          ErrorCodes.ERR_ALBANY_INVALID_MESSAGE,
          `unexpected message type ${JSON.stringify((message as { type: string }).type)} in a lifespan scope`,
        );
    }
  }
}
