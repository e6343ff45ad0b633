/** The MQTT face of Rasid's simulated meter. */
export {
  type FaceStats,
  type MqttFaceEvents,
  type MqttFaceOptions,
  MqttMeterFace,
  newFaceStats,
} from './face.ts';
