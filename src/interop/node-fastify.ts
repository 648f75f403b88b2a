// A gateway App as a Fastify plugin: Fastify routes the prefix, then steps aside (hijack) so the
// app writes the raw response through the same node adapters as albany's own server.
import type { App } from '../gateway/types.js';
import { toNodeHandler, type ToNodeHandlerOptions } from './node-mount.js';

/** Options for {@link fastifyPlugin}; Fastify's own `prefix` becomes `scope.rootPath`. */
export type FastifyPluginOptions = Omit<ToNodeHandlerOptions, 'rootPath'> & { prefix?: string };

// Only the corner of Fastify's API the plugin touches, so Fastify stays a dev dependency.
interface FastifyLike {
  prefix: string;
  removeAllContentTypeParsers(): void;
  addContentTypeParser(
    type: string,
    fn: (req: unknown, payload: unknown, done: (err: null, body?: unknown) => void) => void,
  ): void;
  all(path: string, handler: (request: { raw: never }, reply: { raw: never; hijack(): void }) => void): void;
}

/**
 * Returns a Fastify plugin that serves `app` for every method under the registration prefix:
 * `fastify.register(fastifyPlugin(app), { prefix: '/legacy' })`. Fastify's body parsers are
 * switched off inside the plugin so the app streams the request body itself.
 */
export function fastifyPlugin(app: App, options: Omit<ToNodeHandlerOptions, 'rootPath'> = {}) {
  return async function albanyFastifyPlugin(fastify: FastifyLike): Promise<void> {
    const handler = toNodeHandler(app, { ...options, rootPath: fastify.prefix });
    fastify.removeAllContentTypeParsers();
    // Leave the body unread: the gateway app pulls it through receive().
    fastify.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const route = (request: { raw: never }, reply: { raw: never; hijack(): void }) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    };
    fastify.all('/', route);
    fastify.all('/*', route);
  };
}
