/** Captures: vfio-user messages as pcapng files (Wireshark, tshark; see dissector/vfio-user.lua), written as they come and read back. */
export { captureWriter, captureTo, capturedMessages, type CapturableEvent, type CapturedMessage } from './capture.js';
export { encodeEnhancedPacket, encodeInterface, encodeSectionHeader, LINKTYPE_VFIO_USER, EpbDirection, type CapturedPacket } from './pcapng.js';
export { readPcapng, type Capture, type CapturedInterface } from './read-pcapng.js';
export { openCaptureFile, FLUSH_BYTES, FLUSH_MS, type CaptureFile } from './capture-file.js';
