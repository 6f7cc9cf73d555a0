import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { VERSION_RANGE_HEADERS } from './middleware/api-version.ts';

/** What Node's parser refuses before Koa sees a request: status, reason phrase, message. */
function describe(err: NodeJS.ErrnoException): [number, string, string] {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'Request Header Fields Too Large', 'Request headers exceed the size limit'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'Request Timeout', 'The request took too long to arrive'];
    default:
      // llhttp's reasons name the fault ("Invalid method encountered") and hold no request data.
      return [400, 'Bad Request', `Malformed HTTP request: ${err.message}`];
  }
}

/**
 * Answers a request Node's HTTP parser refuses (unknown method, bad Content-Length, broken
 * chunking, oversized headers) with the JSON error body and version headers of every other
 * answer; by default Node writes the status line alone.
 */
export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A peer that reset the connection reads nothing more; and an answer already under way on
    // this connection (a pipelined request broke while it was sent) must not have ours spliced in.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })
      ._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, message] = describe(err);
    const body = JSON.stringify({ error: { message } });
    // Destroyed once written, as Node's own handler does: the request it broke off then sees its
    // connection gone at once instead of waiting for the rest of a body until requestTimeout.
    socket.end(
      [
        `HTTP/1.1 ${status} ${reason}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        ...VERSION_RANGE_HEADERS.map(([name, value]) => `${name}: ${value}`),
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
      () => socket.destroy(),
    );
  });
}
