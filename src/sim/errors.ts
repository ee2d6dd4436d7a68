// Codes of the simulators and the virtual-serial harness: a system tool (socat, mosquitto)
// missing or failing (fault: local).

export const SimErrorCode = {
  TOOL_MISSING: 'TOOL_MISSING',
  TOOL_FAILED: 'TOOL_FAILED',
} as const;
export type SimErrorCode = (typeof SimErrorCode)[keyof typeof SimErrorCode];
