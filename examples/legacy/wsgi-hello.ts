// Legacy demo route: the smallest WSGI-style handler, echoing the request line and body size.
import type { WsgiEnviron } from '../../legacy-adapter/index.js';

export default function app(
  environ: WsgiEnviron,
  startResponse: (status: string, headers: Array<[string, string]>) => unknown,
) {
  const body = environ['wsgi.input'].read();
  startResponse('200 OK', [['content-type', 'text/plain; charset=utf-8']]);
  return [
    `hello from a worker: ${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO} ` +
      `(${body.length} body bytes)\n`,
  ];
}
