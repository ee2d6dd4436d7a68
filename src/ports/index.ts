// Equipment transports (ARCHITECTURE.md "src/ports"): serial, Modbus RTU/TCP master, MQTT client.
export { SerialLink, writeAndWait, type SerialFraming, type SerialLinkEvents, type SerialLinkOptions, type SerialState, type SerialStats } from './serial.js';
export { listPorts, type ListedPorts, type PortInfo } from './serial-list.js';
export type { PortFactory, PortOpenOptions, SerialPortLike } from './serial-port-like.js';
export type { Rs485Options } from './rs485.js';
export { MqttLink, MqttRefusedError, type MqttLinkOptions, type MqttMessage, type MqttState, type MqttStats, type QoS } from './mqtt.js';
export { PublishWindow, ReceiveQueue } from './mqtt-queues.js';
export { ModbusCrcError, ModbusException, ModbusOfflineError, ModbusTimeoutError, PortIoError, exceptionName } from './errors.js';
export { silentPortLog, type PortLog } from './log.js';
export * from './modbus/index.js';
export * as portConstants from './constants.js';
