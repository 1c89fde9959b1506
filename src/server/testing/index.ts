/** Testing helpers for device authors: a test bed with a mock client, fake I/O and frame builders. */
export { testBed, type MockSession, type RunOptions, type TestBed, type TestBedOptions } from './harness.js';
export { fakeIo, type FakeIo } from './fake-io.js';
export { requests, qemuCapabilities, type FrameOptions, type Requests } from './requests.js';
export { answerDma, replyOutput, type DeviceOutput, type DmaWriteReply } from './outputs.js';
