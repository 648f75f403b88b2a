// Legacy demo route: the smallest WSGI-style handler, echoing the request line and body size.
export default function app(environ: Record<string, any>, startResponse: (status: string, headers: Array<[string, string]>) => unknown) {
  const body = environ['wsgi.input'].read();
  startResponse('200 OK', [['content-type', 'text/plain; charset=utf-8']]);
  return [`hello from a worker: ${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO} (${body.length} body bytes)\n`];
}
