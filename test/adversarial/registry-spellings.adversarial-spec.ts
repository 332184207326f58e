import { BouncerUnderAttack, podRequest } from './support/bouncer-under-attack';

// Class 8: a pod author spells a denied registry another way. Docker Hub answers as docker.io,
// index.docker.io and registry-1.docker.io, and any registry as host and host:443; a runtime pulls
// the same image from each, so a deny-list must catch every spelling. The parser stays identical to
// distribution/reference (which folds only index.docker.io); aliasing is the matcher's business.
const POLICY = `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: spellings}
spec:
  rules:
    - name: no-hub-strangers
      deniedRepositories: ["docker.io/randomuser/**", "nginx"]
    - name: not-that-registry
      deniedRepositories: ["registry.example.com/**"]
    - name: known-sources
      allowedRepositories: ["docker.io/**", "registry.example.com/**", "ghcr.io/**"]
`;

describe('a denied registry spelt another way (class 8)', () => {
  const bouncer = new BouncerUnderAttack();
  beforeAll(() => bouncer.start(POLICY));
  afterAll(() => bouncer.stop());

  const pod = (image: string): Record<string, unknown> =>
    podRequest({ metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image }] } });

  it.each([
    ['registry-1.docker.io/randomuser/miner:1', 'no-hub-strangers'],
    ['Registry-1.Docker.IO/randomuser/miner:1', 'no-hub-strangers'],
    ['index.docker.io:443/randomuser/miner:1', 'no-hub-strangers'],
    ['registry-1.docker.io/nginx:1.27', 'no-hub-strangers'],
    ['registry-1.docker.io/library/nginx:1.27', 'no-hub-strangers'],
    ['registry.example.com:443/team/app:1', 'not-that-registry'],
  ])('denies %s by rule %s, naming the image', async (image, rule) => {
    const reply = await bouncer.admission('/validate', pod(image));

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toContain(`image ${image} is from a denied repository`);
    expect(reply.status?.message).toContain(`(rule ${rule})`);
  });

  it('denies the same spellings through ImagePolicyWebhook', async () => {
    const status = await bouncer.imageReview(['registry-1.docker.io/randomuser/miner:1']);

    expect(status.allowed).toBe(false);
    expect(status.reason).toContain('Images from denied repositories are not allowed');
    expect(status.reason).toContain('registry-1.docker.io/randomuser/miner:1');
  });

  it('lets an allowed registry through under any of its names, and another port stays another registry', async () => {
    expect((await bouncer.admission('/validate', pod('registry-1.docker.io/someone/tool:2'))).allowed).toBe(
      true,
    );
    expect((await bouncer.admission('/validate', pod('ghcr.io:443/acme/app:3'))).allowed).toBe(true);
    const otherPort = await bouncer.admission('/validate', pod('ghcr.io:5000/acme/app:3'));
    expect(otherPort.allowed).toBe(false);
    expect(otherPort.status?.message).toContain('is not from an allowed repository (rule known-sources)');
  });
});

// A port is a number: Go's net package (under containerd and CRI-O) dials `host:0443` at port 443,
// as the WHATWG URL parser the bouncer itself connects through does. Leading zeros are one more
// spelling of the same registry, and a policy that only denies must catch it.
describe('a denied registry spelt with leading zeros in its port (class 8)', () => {
  const bouncer = new BouncerUnderAttack();
  beforeAll(() =>
    bouncer.start(`apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata: {name: deny-only}
spec:
  rules:
    - name: no-hub-strangers
      deniedRepositories: ["docker.io/randomuser/**"]
    - name: not-that-registry
      deniedRepositories: ["registry.example.com/**", "registry.example.com:5000/**"]
`),
  );
  afterAll(() => bouncer.stop());

  const pod = (image: string): Record<string, unknown> =>
    podRequest({ metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image }] } });

  it.each([
    ['registry-1.docker.io:0443/randomuser/miner:1', 'no-hub-strangers'],
    ['index.docker.io:00443/randomuser/miner:1', 'no-hub-strangers'],
    ['registry.example.com:0443/team/app:1', 'not-that-registry'],
    ['registry.example.com:05000/team/app:1', 'not-that-registry'],
  ])('denies %s by rule %s', async (image, rule) => {
    const reply = await bouncer.admission('/validate', pod(image));

    expect(reply.allowed).toBe(false);
    expect(reply.status?.message).toContain(`image ${image} is from a denied repository`);
    expect(reply.status?.message).toContain(`(rule ${rule})`);
  });

  it('keeps another port another registry', async () => {
    expect((await bouncer.admission('/validate', pod('registry.example.com:04430/team/app:1'))).allowed).toBe(
      true,
    );
  });
});
