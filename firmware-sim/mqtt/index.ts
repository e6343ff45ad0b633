/** The MQTT face of Rasid's simulated meter. */
export {
  type FaceStats,
  jitteredBackoff,
  type MqttFaceEvents,
  type MqttFaceOptions,
  MqttMeterFace,
  newFaceStats,
  pubackQuantile,
} from './face.ts';
