// A minimal HTTP/1.1 keep-alive load driver for bench:instructions: N connections opened once and
// kept for the warm-up and the counted window alike, each sending one GET at a time. autocannon
// opens fresh connections for every run, so the counted window would also pay for 50 connection
// set-ups and the optimizing-compiler work they trigger (seen as a compiler column swinging from
// 15k to 20k Ir/req between otherwise identical rounds); a long-running server with keep-alive
// clients pays that once, not per request.
import { connect, type Socket } from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** Counts of one run: 2xx responses and the rest. */
export interface DriveCounts {
  ok: number;
  bad: number;
  /** Responses per connection slot (index as in {@link KeepAliveDriver.localPorts}). */
  perConnection: number[];
}

function openSocket(port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** N persistent connections to 127.0.0.1:port that send exactly the requests asked for. */
export class KeepAliveDriver {
  /**
   * Connections opened again because the server had closed them between runs (its keep-alive
   * timeout, 5 s in node:http, can pass while valgrind switches instrumentation on a loaded machine).
   */
  reopened = 0;

  private constructor(
    private readonly port: number,
    private readonly sockets: Socket[],
    private readonly request: Buffer,
  ) {}

  /** Opens `connections` sockets to the server (all must connect). */
  static async open(port: number, connections: number, path = '/'): Promise<KeepAliveDriver> {
    const sockets = await Promise.all(Array.from({ length: connections }, () => openSocket(port)));
    return new KeepAliveDriver(
      port,
      sockets,
      Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 'latin1'),
    );
  }

  /**
   * Sends exactly `amount` requests over the connections, one in flight per connection; resolves when all are answered.
   */
  async run(amount: number): Promise<DriveCounts> {
    await this.ensureOpen();
    return this.drive(amount);
  }

  /**
   * The local (client-side) port of each connection slot, so a bench can tell which server process
   * holds the other end (lib/proc.ts connectionOwners); a slot reopened mid-run shows its latest port.
   */
  localPorts(): number[] {
    return this.sockets.map((s) => s.localPort ?? 0);
  }

  /** Opens again any connection the server has closed (counted in {@link reopened}). */
  async ensureOpen(): Promise<void> {
    for (let i = 0; i < this.sockets.length; i++) {
      const socket = this.sockets[i]!;
      if (socket.destroyed || socket.readyState !== 'open') {
        socket.destroy();
        this.sockets[i] = await openSocket(this.port);
        this.reopened++;
      }
    }
  }

  private drive(amount: number): Promise<DriveCounts> {
    let sent = 0;
    const counts: DriveCounts = { ok: 0, bad: 0, perConnection: this.sockets.map(() => 0) };
    return new Promise((resolve, reject) => {
      let active = 0;
      const finishOne = () => {
        if (--active === 0) resolve(counts);
      };
      // One slot per connection: one request in flight; if the server closes the connection under
      // it (a keep-alive timeout on a starved machine), the unanswered request goes again on a new one.
      const serve = (slot: number) => {
        const socket = this.sockets[slot]!;
        let buffered: Buffer = Buffer.alloc(0);
        const detach = () => {
          socket.off('data', onData);
          socket.off('close', onClose);
        };
        const onData = (data: Buffer) => {
          buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data]);
          for (;;) {
            const used = responseLength(buffered);
            if (used === -1) return;
            const status = Number(buffered.toString('latin1', 9, 12));
            if (status >= 200 && status < 300) counts.ok++;
            else counts.bad++;
            counts.perConnection[slot]!++;
            buffered = buffered.subarray(used);
            if (sent < amount) {
              sent++;
              socket.write(this.request);
            } else {
              detach();
              finishOne();
              return;
            }
          }
        };
        const onClose = () => {
          detach();
          openSocket(this.port).then((fresh) => {
            this.sockets[slot] = fresh;
            this.reopened++;
            serve(slot);
          }, reject);
        };
        socket.on('data', onData);
        socket.once('close', onClose);
        socket.write(this.request);
      };
      for (let slot = 0; slot < this.sockets.length && sent < amount; slot++) {
        active++;
        sent++;
        serve(slot);
      }
      if (active === 0) resolve(counts);
    });
  }

  /** Closes every connection. */
  close(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** Bytes of the first complete response in `buffer`, or -1 while it is incomplete. */
function responseLength(buffer: Buffer): number {
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd === -1) return -1;
  const head = buffer.toString('latin1', 0, headEnd).toLowerCase();
  const bodyStart = headEnd + 4;
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    return buffer.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const end = buffer.indexOf(CHUNKED_END, bodyStart);
    return end === -1 ? -1 : end + CHUNKED_END.length;
  }
  // No framing header: a bodiless status (204/304) or a response closed by the server; these
  // benches' peers always send a content-length or chunks.
  return bodyStart;
}
