// Own codec, independent of src/ports/modbus/ on purpose: the simulators are its test peer.
// Modbus Application Protocol V1.1b3 §7: the exception codes the simulated slaves answer with.

export const EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
} as const;
