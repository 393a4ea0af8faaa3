import { describe, expect, it } from 'vitest';
import { SessionCache } from '../../edge/inference/session-cache.ts';

describe('SessionCache', () => {
  it('shares one in-flight load among concurrent callers', async () => {
    const cache = new SessionCache<'m', object>();
    let loads = 0;
    let release!: (value: object) => void;
    const load = () => {
      loads++;
      return new Promise<object>((resolve) => {
        release = resolve;
      });
    };
    const pending = [cache.get('m', load), cache.get('m', load), cache.get('m', load)];
    expect(cache.isLoaded('m')).toBe(false);
    const session = {};
    release(session);
    const results = await Promise.all(pending);
    expect(loads).toBe(1);
    expect(results.every((r) => r === session)).toBe(true);
    expect(cache.isLoaded('m')).toBe(true);
    expect(cache.stats()).toEqual({ m: { inits: 1, loaded: true } });
  });

  it('forgets a failed load so that a later call retries', async () => {
    const cache = new SessionCache<'m', string>();
    let attempt = 0;
    const load = async () => {
      attempt++;
      if (attempt === 1) throw new Error('R2 hiccup');
      return 'ok';
    };
    await expect(cache.get('m', load)).rejects.toThrow('R2 hiccup');
    expect(cache.isLoaded('m')).toBe(false);
    await expect(cache.get('m', load)).resolves.toBe('ok');
    expect(cache.stats()).toEqual({ m: { inits: 2, loaded: true } });
  });
});
