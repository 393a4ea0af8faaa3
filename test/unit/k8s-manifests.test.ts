import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ENV_KEYS, parseConfig } from '../../gpu-origin/config/config.ts';

// Structural checks of infra/k8s and the Dockerfile: no cluster or docker engine is needed, but a renamed
// probe path, port, label or environment variable breaks this test rather than a rollout.

const K8S = join(import.meta.dirname, '../../infra/k8s');
const DOCKERFILE = readFileSync(join(import.meta.dirname, '../../infra/docker/Dockerfile'), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field below
type Doc = Record<string, any>;

function load(): Map<string, Doc> {
  const byKind = new Map<string, Doc>();
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      expect(doc.errors, `${file} parses`).toEqual([]);
      const value = doc.toJS() as Doc;
      byKind.set(value.kind, { ...value, file });
    }
  }
  return byKind;
}

describe('k8s manifests', () => {
  const docs = load();
  const deployment = docs.get('Deployment') as Doc;
  const container = deployment?.spec?.template?.spec?.containers?.[0];

  it('has a Deployment, Service, HorizontalPodAutoscaler and the models claim, all listed in kustomization', () => {
    for (const kind of [
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PersistentVolumeClaim',
      'Kustomization',
    ]) {
      expect(docs.has(kind), kind).toBe(true);
    }
    const files = new Set((docs.get('Kustomization') as Doc).resources);
    for (const [kind, doc] of docs)
      if (kind !== 'Kustomization') expect(files.has(doc.file), doc.file).toBe(true);
  });

  it('requests one NVIDIA GPU and selects its own pods', () => {
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
  });

  it('probes liveness and readiness on the Open Inference Protocol health routes', () => {
    expect(container.livenessProbe.httpGet.path).toBe('/v2/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/v2/health/ready');
    const portNames = container.ports.map((p: Doc) => p.name);
    expect(portNames).toContain(container.readinessProbe.httpGet.port);
    expect(portNames).toContain(container.livenessProbe.httpGet.port);
  });

  it('sets only environment variables the origin knows, with values it accepts', () => {
    const env: Record<string, string> = {};
    for (const item of container.env as Doc[]) {
      expect(ENV_KEYS, item.name).toContain(item.name);
      if (typeof item.value === 'string') env[item.name] = item.value;
      else {
        expect(item.valueFrom.secretKeyRef.name).toBeTruthy();
        // The secret's value is not in the manifest: stand in a well-formed one (the origin needs a key).
        env[item.name] = `from-secret:${'x'.repeat(32)}`;
      }
    }
    expect(() => parseConfig(env)).not.toThrow();
  });

  it('routes the Service to the container port and scales the Deployment by name', () => {
    const service = docs.get('Service') as Doc;
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(container.ports.map((p: Doc) => p.name)).toContain(service.spec.ports[0].targetPort);
    const hpa = docs.get('HorizontalPodAutoscaler') as Doc;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
  });

  it('mounts the claim the PVC manifest declares', () => {
    const claim = (docs.get('PersistentVolumeClaim') as Doc).metadata.name;
    const volumes = deployment.spec.template.spec.volumes as Doc[];
    expect(volumes.some((v) => v.persistentVolumeClaim?.claimName === claim)).toBe(true);
  });
});

describe('Dockerfile', () => {
  it('uses a CUDA 12 + cuDNN runtime base and installs the CUDA 12 ONNX Runtime provider', () => {
    expect(DOCKERFILE).toMatch(/nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu/);
    expect(DOCKERFILE).toContain('--onnxruntime-node-install=cuda12');
    expect(DOCKERFILE).toContain('libonnxruntime_providers_cuda.so');
  });

  it('exposes the port the Deployment uses and sets only known variables', () => {
    const docs = load();
    const port = (docs.get('Deployment') as Doc).spec.template.spec.containers[0].ports[0].containerPort;
    expect(DOCKERFILE).toContain(`EXPOSE ${port}`);
    const envBlock = DOCKERFILE.slice(DOCKERFILE.indexOf('ENV NODE_ENV'), DOCKERFILE.indexOf('EXPOSE'));
    const names = [...envBlock.matchAll(/(ORIGIN_\w+)=/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(ENV_KEYS).toContain(name);
  });
});
