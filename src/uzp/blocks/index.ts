// The block layer's public surface (draft §7).
export { BlockEngine, type BlockEngineOptions, type BlockEngineStats, type BlockEngineInspection } from './engine.js';
export { DEFAULT_BLOCK_LIMITS, resolveLimits, type BlockLimits } from './limits.js';
export { CloseCode, isBlockType, blockType, SPACE_DATA, SPACE_ACK, REPLAY_WINDOW } from './constants.js';
export { encodeFrames, decodeFrames, type Frame } from './frames.js';
export { encodeAck, decodeAck, type AckFrame, type AckRange } from './ack.js';
export { ReplayWindow } from './replay.js';
