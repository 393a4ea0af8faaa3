import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../gpu-origin/config/config.ts';
import { providerAttempts } from '../../gpu-origin/inference/providers.ts';

describe('origin configuration', () => {
  it('has working defaults (unsigned only with the explicit development flag)', () => {
    const config = parseConfig({ ORIGIN_ALLOW_UNSIGNED: 'true' });
    expect(config).toMatchObject({
      port: 8788,
      providers: ['cuda', 'cpu'],
      allowCpuFallback: true,
      maxBatch: null,
      profile: null,
      warmupRuns: 5,
      models: [],
    });
    expect(config.modelsDir).toMatch(/models$/);
    expect(config.hmacKeys.size).toBe(0);
    expect(config.allowUnsigned).toBe(true);
    expect(config.host).toBe('0.0.0.0');
  });

  it('fails closed: no signing keys (unset, empty or blank) is an error naming both settings', () => {
    for (const env of [
      {},
      { ORIGIN_HMAC_KEYS: '' },
      { ORIGIN_HMAC_KEYS: ' , ' },
      { ORIGIN_ALLOW_UNSIGNED: 'false' },
    ]) {
      expect(() => parseConfig(env)).toThrow(ConfigError);
      expect(() => parseConfig(env)).toThrow(/ORIGIN_HMAC_KEYS.*ORIGIN_ALLOW_UNSIGNED=true/);
    }
    const secret = 'k1:0123456789-0123456789-0123456789';
    expect(parseConfig({ ORIGIN_HMAC_KEYS: secret }).allowUnsigned).toBe(false);
    // The message never repeats a configured value.
    expect(() => parseConfig({ ORIGIN_HMAC_KEYS: 'k1:tooshort-secret' })).toThrow(/^(?!.*tooshort)/);
  });

  it('normalises audiences', () => {
    const config = parseConfig({
      ORIGIN_HMAC_KEYS: `k1:${'s'.repeat(32)}`,
      ORIGIN_AUDIENCE: 'GPU.example.com:443, origin.internal:8788',
    });
    expect(config.audiences).toEqual(['gpu.example.com', 'origin.internal:8788']);
  });

  it('parses lists, booleans, numbers and signing keys (secrets may contain colons)', () => {
    const secret = 'a:b-0123456789-0123456789-0123456789';
    const config = parseConfig({
      ORIGIN_MODELS: 'efficientnet-b5, efficientnet-b7',
      ORIGIN_EXECUTION_PROVIDERS: 'cpu',
      ORIGIN_ALLOW_CPU_FALLBACK: 'false',
      ORIGIN_BATCH_WINDOW_MS: '2.5',
      ORIGIN_HMAC_KEYS: `k1:${secret},k2:${'z'.repeat(32)}`,
      ORIGIN_PORT: '',
    });
    expect(config.models).toEqual(['efficientnet-b5', 'efficientnet-b7']);
    expect(config.providers).toEqual(['cpu']);
    expect(config.allowCpuFallback).toBe(false);
    expect(config.batchWindowMs).toBe(2.5);
    expect(config.hmacKeys.get('k1')).toBe(secret);
    expect(config.port).toBe(8788);
  });

  it('fails with one message naming each bad variable', () => {
    const bad = (env: Record<string, string>) => {
      try {
        parseConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(bad({ ORIGIN_PORT: '70000' })).toMatch(/^invalid configuration: ORIGIN_PORT: /);
    expect(bad({ ORIGIN_EXECUTION_PROVIDERS: 'tpu' })).toContain('ORIGIN_EXECUTION_PROVIDERS');
    expect(bad({ ORIGIN_ALLOW_CPU_FALLBACK: 'maybe' })).toContain('ORIGIN_ALLOW_CPU_FALLBACK');
    expect(bad({ ORIGIN_HMAC_KEYS: 'k1:short' })).toContain('at least 32 characters');
    expect(bad({ ORIGIN_HMAC_KEYS: 'no-separator' })).toContain('kid:secret');
  });
});

describe('execution provider order', () => {
  it('tries CUDA first and CPU only as an allowed fallback', () => {
    expect(providerAttempts({ providers: ['cuda', 'cpu'], allowCpuFallback: true })).toEqual(['cuda', 'cpu']);
    expect(providerAttempts({ providers: ['cuda'], allowCpuFallback: true })).toEqual(['cuda', 'cpu']);
    expect(providerAttempts({ providers: ['cuda', 'cpu'], allowCpuFallback: false })).toEqual(['cuda']);
    expect(providerAttempts({ providers: ['cpu', 'cuda'], allowCpuFallback: false })).toEqual(['cpu']);
    expect(providerAttempts({ providers: ['cpu'], allowCpuFallback: false })).toEqual(['cpu']);
  });
});
