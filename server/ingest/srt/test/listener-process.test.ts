// The listener child's supervision: a dead listener is restarted on the same port, a crash loop is given up on.
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../e2e/support/poll.ts';
import { DEFAULT_SRT_CACHE_DIR, srtListenerBinary } from '../binary.ts';
import { ListenerProcess } from '../listener-process.ts';

describe('ListenerProcess', () => {
  let listener: ListenerProcess | undefined;
  afterAll(() => listener?.close());

  it('restarts the listener on its port when it dies, at most 5 times a minute, then gives up', async () => {
    listener = new ListenerProcess(await srtListenerBinary(DEFAULT_SRT_CACHE_DIR), '127.0.0.1');
    const downs: boolean[] = [];
    listener.on('down', (_detail, restarting) => downs.push(restarting));
    const port = await listener.start(0);
    expect(port).toBeGreaterThan(0);
    for (let kill = 1; kill <= 6; kill++) {
      const pid = await pollUntil(async () => listener!.pid, (p) => p !== undefined, 10_000, `listener running before kill ${kill}`);
      process.kill(pid!, 'SIGKILL');
      await pollUntil(async () => downs.length, (n) => n === kill, 5000, `down ${kill} reported`);
    }
    expect(downs).toEqual([true, true, true, true, true, false]);
    expect(listener.pid).toBeUndefined();
  });

  it('refuses to start on a port another listener holds, with libsrt’s reason', async () => {
    const binary = await srtListenerBinary(DEFAULT_SRT_CACHE_DIR);
    const first = new ListenerProcess(binary, '127.0.0.1');
    const port = await first.start(0);
    try {
      await expect(new ListenerProcess(binary, '127.0.0.1').start(port)).rejects.toThrow(/cannot listen on 127\.0\.0\.1/);
    } finally {
      await first.close();
    }
  });
});
