// One WebSocket connection between the `ws` library and an app: the websocket scope's message
// state machine (connect → accept/close → receive/send → disconnect) and its rules, in one place.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { AlbanyError, ErrorCodes } from '../errors.js';
import type { App, Headers, SendMessage, WebSocketReceiveEvent, WebSocketScope } from '../gateway/types.js';
import { checkHeaders, checkMessage, invalidMessage } from '../gateway/validate.js';
import { contextState } from '../context/state.js';

// Connection progress; numbers because send() checks it on every message.
enum Phase {
  Connecting,
  Open,
  Closing,
  Closed,
}

/** Incoming messages queued before the socket is paused, so a slow app bounds our memory. */
const INBOX_PAUSE = 64;

/** What the upgrade listener hands each connection. */
export interface ConnectionContext {
  wss: WebSocketServer;
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Await a send once ws.bufferedAmount passes this many bytes. */
  sendHighWaterMark: number;
  /** Reports an app error with the request line. */
  logError(error: unknown, what: string): void;
  /** Reports a refused handshake the app caused without failing (one line, no stack). */
  logWarning?(message: string): void;
  /** Called with the open ws so the keep-alive pinger can track it. */
  onOpen(ws: WebSocket): void;
}

/** Subprotocol and headers chosen by the app's accept, read by the server's handleProtocols/headers hooks. */
export interface AcceptChoice {
  subprotocol: string | null;
  headers: Headers;
}

/** Where the upgrade listener finds the app's accept choice for a request. */
export const kAccept = Symbol('albany.websocketAccept');

function statusResponse(socket: Duplex, status: number, text: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ` +
      `${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/**
 * Owns `receive`/`send` for one upgrade request. Before accept the app may only accept or close
 * (→ HTTP 403); after it, send/close go to the `ws` socket, with `send()` waiting while the
 * socket's buffer is above the high-water mark.
 */
export class WebSocketConnection {
  private phase = Phase.Connecting;
  private ws: WebSocket | undefined;
  private readonly inbox: WebSocketReceiveEvent[] = [{ type: 'websocket.connect' }];
  private waiter: ((m: WebSocketReceiveEvent) => void) | undefined;
  private paused = false;
  private disconnectCode = 1006;
  private disconnected = false;
  // Set when the app answered the handshake with an http.* message: an HTTP-only app.
  private answeredHttp = false;

  constructor(
    readonly scope: WebSocketScope,
    private readonly ctx: ConnectionContext,
  ) {
    // The client may drop the TCP connection while the app decides whether to accept.
    ctx.socket.once('close', () => {
      if (this.phase === Phase.Connecting) this.gone(1006, '');
    });
  }

  /** The app's `receive`. */
  readonly receive = (): Promise<WebSocketReceiveEvent> => {
    const next = this.inbox.shift();
    if (next !== undefined) {
      if (this.paused && this.inbox.length < INBOX_PAUSE / 2) {
        this.paused = false;
        this.ws?.resume();
      }
      return Promise.resolve(next);
    }
    if (this.phase === Phase.Closed)
      return Promise.resolve({ type: 'websocket.disconnect', code: this.disconnectCode });
    return new Promise((resolve) => (this.waiter = resolve));
  };

  /** The app's `send`. */
  readonly send = async (message: SendMessage): Promise<void> => {
    const type = checkMessage(message);
    if (this.phase === Phase.Closed || (this.phase === Phase.Closing && type !== 'websocket.close')) {
      throw new AlbanyError(ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED, `${type}: the websocket is closed`);
    }
    switch (type) {
      case 'websocket.accept':
        if (this.phase !== Phase.Connecting)
          invalidMessage('websocket.accept sent twice (the connection is already accepted)');
        return this.accept(message as { subprotocol?: unknown; headers?: unknown });
      case 'websocket.send':
        if (this.phase === Phase.Connecting) invalidMessage('websocket.send sent before websocket.accept');
        return this.sendData(message as { bytes?: unknown; text?: unknown });
      case 'websocket.close':
        return this.close(message as { code?: unknown; reason?: unknown });
      default:
        if (type.startsWith('http.')) this.answeredHttp = true;
        return invalidMessage(`unexpected message type ${JSON.stringify(type)} in a websocket scope`);
    }
  };

  /** Runs the app; settles the handshake or the connection however the app ends. */
  async run(app: App): Promise<void> {
    try {
      // The request context (src/context), once turned on: the connection runs in one of its own.
      const enter = contextState.enter;
      await (enter === undefined
        ? app(this.scope, this.receive, this.send)
        : enter(app, this.scope, this.receive, this.send, undefined));
    } catch (error) {
      if (
        AlbanyError.is(error) &&
        error.code === ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED &&
        this.phase === Phase.Closed
      )
        return;
      if (this.answeredHttp && this.phase === Phase.Connecting) {
        // An app written for http scopes only (it answers with http.response.start whatever the
        // scope): it does not take WebSockets, which is a refusal, not a server error.
        this.ctx.logWarning?.(
          `websocket ${this.scope.rawPath}: the app answered with an http message (it does not handle ` +
            `websocket scopes); refused with 403`,
        );
        this.end(403, 'Forbidden', 1000);
        return;
      }
      this.ctx.logError(error, `websocket ${this.scope.rawPath}`);
      this.end(500, 'Internal Server Error', 1011);
      return;
    }
    // Returning is the end of the conversation: unanswered handshake → 403, open socket → normal close.
    this.end(403, 'Forbidden', 1000);
  }

  /** Settles the connection after the app is done: an HTTP answer before accept, a close code after. */
  private end(status: number, text: string, closeCode: number): void {
    if (this.phase === Phase.Connecting) {
      this.phase = Phase.Closed;
      statusResponse(this.ctx.socket, status, text);
    } else if (this.phase === Phase.Open) {
      this.phase = Phase.Closing;
      this.ws!.close(closeCode);
    }
  }

  private accept(m: { subprotocol?: unknown; headers?: unknown }): Promise<void> {
    const headers = checkHeaders(m.headers, 'websocket.accept');
    const subprotocol = m.subprotocol ?? null;
    if (subprotocol !== null && (typeof subprotocol !== 'string' || !this.scope.subprotocols.includes(subprotocol))) {
      invalidMessage(
        `websocket.accept: subprotocol ${JSON.stringify(subprotocol)} was not offered by the client ` +
          `(offered: ${this.scope.subprotocols.join(', ') || 'none'})`,
      );
    }
    if (this.ctx.socket.destroyed) {
      this.gone(1006, '');
      throw new AlbanyError(
        ErrorCodes.ERR_ALBANY_CLIENT_DISCONNECTED,
        'websocket.accept: the client disconnected during the handshake',
      );
    }
    const { wss, req, socket, head } = this.ctx;
    (req as unknown as Record<symbol, AcceptChoice>)[kAccept] = { subprotocol: subprotocol as string | null, headers };
    return new Promise<void>((resolve) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.opened(ws);
        resolve();
      });
    });
  }

  private opened(ws: WebSocket): void {
    this.ws = ws;
    this.phase = Phase.Open;
    this.ctx.onOpen(ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.push(
        isBinary
          ? { type: 'websocket.receive', bytes: data }
          : { type: 'websocket.receive', text: data.toString('utf8') },
      );
      if (!this.paused && this.inbox.length >= INBOX_PAUSE) {
        this.paused = true;
        ws.pause();
      }
    });
    ws.on('close', (code: number, reason: Buffer) => this.gone(code, reason.toString('utf8')));
    // Protocol errors (oversized message → 1009, bad UTF-8 → 1007) end in 'close' with the code.
    ws.on('error', () => {});
  }

  private async sendData(m: { bytes?: unknown; text?: unknown }): Promise<void> {
    const hasText = m.text !== undefined && m.text !== null;
    const hasBytes = m.bytes !== undefined && m.bytes !== null;
    if (hasText === hasBytes) invalidMessage('websocket.send: exactly one of bytes or text must be set');
    if (hasText && typeof m.text !== 'string') invalidMessage('websocket.send: text must be a string');
    if (hasBytes && !(m.bytes instanceof Uint8Array)) invalidMessage('websocket.send: bytes must be a Uint8Array');
    const ws = this.ws!;
    const data = (hasText ? m.text : m.bytes) as string | Uint8Array;
    if (ws.bufferedAmount < this.ctx.sendHighWaterMark) {
      ws.send(data, { binary: hasBytes });
      return;
    }
    // Over the mark: wait until this message has reached the kernel before letting the app go on.
    await new Promise<void>((resolve) => ws.send(data, { binary: hasBytes }, () => resolve()));
  }

  private async close(m: { code?: unknown; reason?: unknown }): Promise<void> {
    const code = m.code ?? 1000;
    const reason = m.reason ?? '';
    if (
      typeof code !== 'number' ||
      !Number.isInteger(code) ||
      !(
        code === 1000 ||
        (code >= 3000 && code <= 4999) ||
        (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
      )
    ) {
      invalidMessage(`websocket.close: code must be 1000, 1001-1014 (not 1004-1006) or 3000-4999, got ${String(code)}`);
    }
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123)
      invalidMessage('websocket.close: reason must be a string of at most 123 bytes');
    if (this.phase === Phase.Connecting) {
      this.phase = Phase.Closed;
      this.disconnectCode = code;
      statusResponse(this.ctx.socket, 403, 'Forbidden');
      return;
    }
    if (this.phase === Phase.Open) {
      this.phase = Phase.Closing;
      this.ws!.close(code, reason);
    }
  }

  private push(message: WebSocketReceiveEvent): void {
    const wake = this.waiter;
    if (wake !== undefined) {
      this.waiter = undefined;
      wake(message);
    } else {
      this.inbox.push(message);
    }
  }

  private gone(code: number, reason: string): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.phase = Phase.Closed;
    this.disconnectCode = code;
    this.push({ type: 'websocket.disconnect', code, reason });
  }
}
