import { MalformedPodSpecError, locatePodSpec, readImagePolicyAnnotations, readPodImages } from './pod-spec';

describe(locatePodSpec.name, () => {
  it.each([
    ['', 'Pod', ['spec'], ['metadata']],
    ['', 'PodTemplate', ['template', 'spec'], ['template', 'metadata']],
    ['apps', 'Deployment', ['spec', 'template', 'spec'], ['spec', 'template', 'metadata']],
    [
      'batch',
      'CronJob',
      ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
      ['spec', 'jobTemplate', 'spec', 'template', 'metadata'],
    ],
    ['argoproj.io', 'Rollout', ['spec', 'template', 'spec'], ['spec', 'template', 'metadata']],
    ['serving.knative.dev', 'Service', ['spec', 'template', 'spec'], ['spec', 'template', 'metadata']],
  ])('finds the pod spec of %s/%s', (group, kind, specPath, metadataPath) => {
    expect(locatePodSpec(group, kind)).toEqual({ specPath, metadataPath });
  });

  it.each([
    ['', 'ConfigMap'],
    ['', 'Deployment'],
    ['extensions', 'Deployment'],
    ['', 'Service'],
    ['argoproj.io', 'AnalysisTemplate'],
    ['serving.knative.dev', 'Route'],
  ])('has none for %s/%s', (group, kind) => {
    expect(locatePodSpec(group, kind)).toBeUndefined();
  });
});

describe(readPodImages.name, () => {
  const pod = locatePodSpec('', 'Pod')!;

  it('reads containers, then initContainers, then ephemeralContainers, naming each', () => {
    const object = {
      spec: {
        ephemeralContainers: [{ name: 'debug', image: 'busybox' }],
        initContainers: [{ name: 'init', image: 'alpine:3' }],
        containers: [{ name: 'web', image: 'nginx' }, { image: 'nameless:1' }],
      },
    };
    expect(readPodImages(object, pod, 'request.object')).toEqual([
      { image: 'nginx', container: { name: 'web', list: 'containers', index: 0 } },
      { image: 'nameless:1', container: { name: '#1', list: 'containers', index: 1 } },
      { image: 'alpine:3', container: { name: 'init', list: 'initContainers', index: 0 } },
      { image: 'busybox', container: { name: 'debug', list: 'ephemeralContainers', index: 0 } },
    ]);
  });

  it('treats missing or null lists and a missing spec as empty', () => {
    expect(readPodImages({ spec: { containers: null } }, pod, 'o')).toEqual([]);
    expect(readPodImages({}, pod, 'o')).toEqual([]);
  });

  it.each([
    [{ spec: [] }, 'o.spec must be an object'],
    [{ spec: { containers: {} } }, 'o.spec.containers must be an array'],
    [{ spec: { initContainers: [null] } }, 'o.spec.initContainers[0] must be an object'],
    [{ spec: { containers: [{ name: 'a', image: 1 }] } }, 'o.spec.containers[0].image must be a string'],
  ])('refuses a malformed spec: %j', (object, message) => {
    expect(() => readPodImages(object, pod, 'o')).toThrow(new MalformedPodSpecError(message));
  });
});

describe(readImagePolicyAnnotations.name, () => {
  it('keeps only string annotations whose key contains .image-policy.k8s.io/, as ImagePolicyWebhook does', () => {
    const deployment = locatePodSpec('apps', 'Deployment')!;
    const object = {
      metadata: { annotations: { 'break-glass.image-policy.k8s.io/ticket-1': 'on the Deployment itself' } },
      spec: {
        template: {
          metadata: {
            annotations: {
              'break-glass.image-policy.k8s.io/ticket-2': '2030-01-01T00:00:00Z',
              'example.com/other': 'x',
              'image-policy.k8s.io/no-leading-dot': 'x',
            },
          },
        },
      },
    };
    expect(readImagePolicyAnnotations(object, deployment)).toEqual({
      'break-glass.image-policy.k8s.io/ticket-2': '2030-01-01T00:00:00Z',
    });
  });
});
