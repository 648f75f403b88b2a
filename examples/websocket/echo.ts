// A WebSocket echo + chat gateway app for the demo (mounted at /ws): every message is echoed to its
// sender, and text starting with "/all " goes to every open connection.
import type { App, Send, WebSocketReceiveEvent } from '../../src/gateway/types.js';

/** Open connections' send functions, for the "/all" broadcast. */
const peers = new Set<Send>();

/**
 * The echo/chat app. Offers the `echo` subprotocol when the client asks for it; closes with 1000
 * when it receives the text "/bye"; answers plain HTTP requests with 426 Upgrade Required.
 */
export const echoApp: App = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const m = await receive();
      if (m.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else if (m.type === 'lifespan.shutdown') return send({ type: 'lifespan.shutdown.complete' });
    }
  }
  if (scope.type === 'http') {
    await send({
      type: 'http.response.start',
      status: 426,
      headers: [
        ['upgrade', 'websocket'],
        ['content-type', 'text/plain'],
      ],
    });
    return send({ type: 'http.response.body', body: Buffer.from('connect with a WebSocket client\n') });
  }
  const first = await receive();
  if (first.type !== 'websocket.connect') return;
  await send({ type: 'websocket.accept', subprotocol: scope.subprotocols.includes('echo') ? 'echo' : null });
  peers.add(send);
  try {
    for (;;) {
      const m = (await receive()) as WebSocketReceiveEvent;
      if (m.type === 'websocket.disconnect') return;
      if (m.type !== 'websocket.receive') continue;
      if (m.text === '/bye') return send({ type: 'websocket.close', code: 1000, reason: 'bye' });
      if (typeof m.text === 'string' && m.text.startsWith('/all ')) {
        const text = m.text.slice(5);
        // One slow or vanished peer must not stop the broadcast to the others.
        await Promise.allSettled([...peers].map((peer) => peer({ type: 'websocket.send', text })));
        continue;
      }
      await send(
        m.bytes != null ? { type: 'websocket.send', bytes: m.bytes } : { type: 'websocket.send', text: m.text ?? '' },
      );
    }
  } finally {
    peers.delete(send);
  }
};

export default echoApp;
