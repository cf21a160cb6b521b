// HTTP/2 flow-control sizes for gateway sessions. The protocol's defaults (64 KiB per
// stream and per connection) cap one stream at a window per round trip; a gateway pair
// carries bulk TCP, so each stream may have 4 MiB in flight and a session 32 MiB.
import type { Settings } from 'node:http2';

export const STREAM_WINDOW = 4 * 1024 * 1024;
export const SESSION_WINDOW = 32 * 1024 * 1024;

export const H2_SETTINGS: Settings = {
  initialWindowSize: STREAM_WINDOW,
  maxConcurrentStreams: 1000,
  maxFrameSize: 64 * 1024,
};
