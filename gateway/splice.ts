// Joins a TCP socket and an HTTP/2 stream both ways, keeping TCP's half-close: when one
// side ends its writing, the other side's writing is ended too, and the reverse direction
// keeps flowing. An error or reset on either side tears both down (RST_STREAM with
// CONNECT_ERROR towards the peer, as RFC 9113 §8.5 asks of a CONNECT proxy).
import { constants, type Http2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/**
 * Like from.pipe(to), but the socket stays corked until the check phase of this loop turn:
 * the DATA frames one TLS read of the session decodes arrive as one callback each (and the
 * tick queue drains after each, so nextTick would not batch), and leave as one writev
 * instead of one write system call each.
 */
function pipeBatched(from: Readable, to: Socket): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    to.uncork();
  };
  from.on('data', (chunk: Buffer) => {
    if (!corked) {
      corked = true;
      to.cork();
      setImmediate(uncork);
    }
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => to.end());
}

export function splice(socket: Socket, stream: Http2Stream, onClose: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    onClose();
  };
  socket.pipe(stream);
  pipeBatched(stream, socket);
  socket.on('error', () => {
    if (!stream.closed) stream.close(constants.NGHTTP2_CONNECT_ERROR);
  });
  stream.on('error', () => socket.destroy());
  stream.on('close', () => {
    // A reset (not a clean END_STREAM both ways) ends the TCP side at once.
    if (stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR) socket.destroy();
  });
  // A clean close (FIN both ways, sockets are half-open capable) leaves the stream to send
  // its END_STREAM; only a failed socket resets it.
  socket.on('close', (hadError) => {
    if (hadError && !stream.closed) stream.close(constants.NGHTTP2_CONNECT_ERROR);
    finish();
  });
}
