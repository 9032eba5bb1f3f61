import type { DeviceApi } from '../../src/fleet/control.js';

/**
 * A device API that reports each call's start and end, so a test on a manual
 * clock can wait for the real socket I/O a step started instead of sleeping.
 */
export function countingDevice(api: DeviceApi, count: { start(): void; end(): void }): DeviceApi {
  const track = <T>(p: Promise<T>): Promise<T> => {
    count.start();
    return p.finally(() => count.end());
  };
  return {
    softOff: (t) => track(api.softOff(t)),
    softOn: (t) => track(api.softOn(t)),
    setWorkmode: (m) => track(api.setWorkmode(m)),
    readStatus: () => track(api.readStatus()),
    close: () => api.close(),
  };
}
