/**
 * The wire kernel: one socket as frames in and messages out, request/reply correlation, and the
 * mock connection that lets a client or a device be marble-tested without a socket.
 */
export { connection, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_QUEUED_BYTES, SEND_AT_ONCE_BYTES, type Connection, type ConnectionOptions } from './connection.js';
export { endpoint, type Endpoint, type EndpointOptions } from './endpoint.js';
export { correlator } from './stream-correlator.js';
export { createCorrelator, type CallOptions, type Correlator, type CorrelatorOptions, type CorrelatorStats, type ReplyWaiter, type RequestOptions } from './correlate.js';
export { decodeFrames, framer, type DecodeFramesOptions } from './decode-frames.js';
export { deadlineScheduler, type DeadlineScheduler } from './deadlines.js';
export { mockConnection, commandFrame, replyFrame, asFrame, type MockConnection } from './mock.js';
export { formatTrace, traceNow, traceOf, type TraceEvent } from './trace.js';
