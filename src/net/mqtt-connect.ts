import mqtt, { type MqttClient } from 'mqtt';

/** Where and as whom to connect to an MQTT broker (`budget` source, `statusMqtt` publisher). */
export interface MqttEndpoint {
  url: string;
  username?: string;
  password?: string;
}

/**
 * One way to open a broker connection for every MQTT part of surplus: the
 * client reconnects by itself every 2 s (a broker restart must not need a
 * proxy restart) and gives up a connect attempt after 10 s. Credentials go
 * as options, never into a URL that could reach a log.
 */
export function connectMqtt(e: MqttEndpoint): MqttClient {
  return mqtt.connect(e.url, {
    ...(e.username !== undefined ? { username: e.username } : {}),
    ...(e.password !== undefined ? { password: e.password } : {}),
    reconnectPeriod: 2000,
    connectTimeout: 10_000,
  });
}
