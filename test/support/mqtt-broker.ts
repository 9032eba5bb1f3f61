/** An in-process aedes MQTT broker on 127.0.0.1 (port 0) and a publisher, for the MQTT budget tests. */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';

export interface TestBroker {
  url: string;
  publisher: mqtt.MqttClient;
  close(): Promise<void>;
}

export async function startBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publisher = await mqtt.connectAsync(url);
  return {
    url,
    publisher,
    close: async () => {
      await publisher.endAsync(true);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
