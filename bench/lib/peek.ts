// One plain GET to a peer, to prove every peer sends the same answer before their speed is compared.
import http from 'node:http';

/** Status, header names (lower-case, in order) and body of one response. */
export interface Peek {
  status: number;
  headerNames: string[];
  contentType: string;
  body: string;
  /** Bytes on the wire for the head and body together (approximate: head re-serialised). */
  bytes: number;
}

/** GETs `url` over a keep-alive connection (as the load generator does), then closes it. */
export function peek(url: string, timeoutMs = 5000): Promise<Peek> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<Peek>((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const raw = res.rawHeaders;
        let headBytes = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + 2;
        const names: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          names.push(raw[i]!.toLowerCase());
          headBytes += raw[i]!.length + 2 + raw[i + 1]!.length + 2;
        }
        resolve({
          status: res.statusCode ?? 0,
          headerNames: names,
          contentType: String(res.headers['content-type'] ?? ''),
          body: body.toString('utf8'),
          bytes: headBytes + body.length,
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  }).finally(() => agent.destroy());
}
