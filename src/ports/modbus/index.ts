// Modbus master: RTU over a SerialLink and Modbus TCP, behind one bus API.
export { ModbusBus, type ModbusBusOptions, type ReadOutcome, type RequestOptions } from './bus.js';
export { RtuTransport, t35Ms, type RtuTransportOptions } from './rtu-transport.js';
export { TcpTransport, type TcpState, type TcpTransportOptions } from './tcp-transport.js';
export type { Exchange, ModbusTransport } from './transport.js';
export { BusStats, emptyUnitStats, type LineStats, type UnitStats } from './stats.js';
export { planReads, splitRead, type PlanLimits, type PlannedRead, type ReadSpec } from './plan.js';
export * from './vocabulary.js';
export { decodeReadReply, exceptionOf, exceptionPdu, readRequest, replyMatches, writeRequest } from './pdu.js';
export { decodeRtuAdu, encodeRtuAdu, replyAduLength, RtuReplyParser } from './rtu-frame.js';
export { decodeMbap, encodeMbap, MbapParser, MBAP_HEADER, type MbapFrame } from './mbap.js';
export { crc16modbus } from './crc.js';
export { RoundRobinQueues } from './round-robin.js';
