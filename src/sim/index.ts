// Equipment simulators and the virtual-serial line, for the HIL tests and the demo.

export { listen, type ByteDuplex } from './duplex.js';
export { bitsPerChar, charTimeMs, t15Ms, t35Ms, DEFAULT_FRAMING, type Framing } from './line-timing.js';
export { PtyPair, type PtyPairOptions } from './pty.js';
export { PacedRelay, type PacedRelayOptions, type DirectionStats, type Direction, type End } from './pacer.js';
export type { LineFaults } from './pacer-faults.js';
export { VirtualLine, type VirtualLineOptions } from './virtual-line.js';
export { memorySerialPair, MemorySerialEnd } from './memory-serial.js';
export { openSerial, closeSerial } from './serial-open.js';
export { crc16, encodeRtu, decodeRtu, expectedRequestLength, expectedResponseLength, type RtuFrame } from './modbus-rtu-frame.js';
export { FN, COIL_ON, COIL_OFF, MEI_READ_DEVICE_ID, encodeRequest, decodeRequest, encodeResponse, decodeResponse, isException, packBits, unpackBits, type ModbusRequest, type ModbusResponse, type ModbusException } from './modbus-pdu.js';
export { EXCEPTION } from './modbus-exceptions.js';
export { READ_DEVICE_ID, type DeviceIdentity } from './modbus-device-id.js';
export { ModbusSlave, type ModbusSlaveSpec, type SlaveFaults } from './modbus-slave.js';
export { ModbusRtuBus, type ModbusRtuBusOptions, type BusEvent, type BusStats } from './modbus-rtu-bus.js';
export { RtuFramer, type RtuFramerOptions } from './rtu-framer.js';
export { drift, counter, blink, toWord, type RegisterSource, type BitSource } from './live-values.js';
export { LineSensor, defaultReading, type LineSensorOptions } from './line-sensor.js';
export { EchoDevice } from './echo-device.js';
export { MqttDevice, type MqttDeviceOptions, type MachineState } from './mqtt-device.js';
export { Mosquitto, mosquittoConfig, freeLoopbackPort, type MosquittoOptions } from './mosquitto.js';
