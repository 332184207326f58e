import {
  MalformedPodSpecError,
  imagePathInSpec,
  locatePodSpec,
  podSpecReviewRequest,
  readImagePolicyAnnotations,
  readPodImages,
} from './pod-spec';

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

describe('image volumes', () => {
  const POD = locatePodSpec('', 'Pod')!;
  const pod = (volumes: unknown[]) => ({ spec: { containers: [{ name: 'app', image: 'app:1' }], volumes } });

  it('reads every volume that mounts an image, after the containers, with its place in the spec', () => {
    const images = readPodImages(
      pod([
        { name: 'cache', emptyDir: {} },
        { name: 'weights', image: { reference: 'models/w:3', pullPolicy: 'Always' } },
      ]),
      POD,
      'request.object',
    );

    expect(images).toEqual([
      { image: 'app:1', container: { name: 'app', list: 'containers', index: 0 } },
      { image: 'models/w:3', volume: { name: 'weights', index: 1 } },
    ]);
    expect(images.map(imagePathInSpec)).toEqual([
      ['containers', 0, 'image'],
      ['volumes', 1, 'image', 'reference'],
    ]);
  });

  it('skips an image volume whose reference a template leaves empty or out', () => {
    expect(
      readPodImages(
        pod([
          { name: 'a', image: {} },
          { name: 'b', image: { reference: '' } },
        ]),
        POD,
        'o',
      ),
    ).toHaveLength(1);
  });

  it.each([
    ['volumes that are not a list', { containers: [], volumes: {} }, 'o.spec.volumes must be an array'],
    ['a volume that is not an object', { volumes: [null] }, 'o.spec.volumes[0] must be an object'],
    [
      'an image source that is not an object',
      { volumes: [{ name: 'v', image: 'x:1' }] },
      'o.spec.volumes[0].image must be an object',
    ],
    [
      'a reference that is not a string',
      { volumes: [{ name: 'v', image: { reference: 7 } }] },
      'o.spec.volumes[0].image.reference must be a string',
    ],
  ])('refuses %s', (_case, spec, message) => {
    expect(() => readPodImages({ spec }, POD, 'o')).toThrow(new MalformedPodSpecError(message));
  });
});

describe(podSpecReviewRequest.name, () => {
  const POD = locatePodSpec('', 'Pod')!;
  const spec = (lists: Record<string, unknown>) => ({ spec: lists });

  it('marks on UPDATE what the object ran before, for the engine to decide whether to spare it', () => {
    const request = podSpecReviewRequest({
      object: spec({
        containers: [
          { name: 'a', image: 'app:1' },
          { name: 'b', image: 'app:2' },
        ],
      }),
      previous: {
        object: spec({ containers: [{ name: 'a', image: 'app:1' }] }),
        objectName: 'request.oldObject',
      },
      location: POD,
      objectName: 'request.object',
    });

    expect(request.images.map(({ image, ranBefore }) => [image, ranBefore === true])).toEqual([
      ['app:1', true],
      ['app:2', false],
    ]);
  });

  it('never marks a new ephemeral container, even with the image of a running container', () => {
    const request = podSpecReviewRequest({
      object: spec({
        containers: [{ name: 'a', image: 'app:1' }],
        ephemeralContainers: [
          { name: 'debugger-old', image: 'busybox:1.36' },
          { name: 'debugger-new', image: 'app:1' },
        ],
      }),
      previous: {
        object: spec({
          containers: [{ name: 'a', image: 'app:1' }],
          ephemeralContainers: [{ name: 'debugger-old', image: 'busybox:1.36' }],
        }),
        objectName: 'request.oldObject',
      },
      location: POD,
      objectName: 'request.object',
      ephemeralContainersOnly: true,
    });

    expect(
      request.images.map(({ image, container, ranBefore }) => [container?.name, image, ranBefore === true]),
    ).toEqual([
      ['debugger-old', 'busybox:1.36', true],
      ['debugger-new', 'app:1', false],
    ]);
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
