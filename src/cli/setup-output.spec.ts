import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveGroup } from './setup-output';

describe(resolveGroup.name, () => {
  const groupFile = join(mkdtempSync(join(tmpdir(), 'groups-')), 'group');
  writeFileSync(groupFile, 'root:x:0:\nnonroot:x:65532:\nkube-image-bouncer:x:998:\n');
  const asRoot = process.getuid?.() === 0;

  it.each([
    ['65532', 65532],
    [65532, 65532],
    ['kube-image-bouncer', 998],
  ])('takes %j as gid %d', (group, gid) => {
    if (!asRoot && !process.getgroups!().includes(gid)) return;
    expect(resolveGroup(group, groupFile)).toEqual({ gid });
  });

  it.each(['nosuchgroup', '-1', '4294967295', ''])('refuses %j', (group) => {
    expect(resolveGroup(group, groupFile)).toEqual({
      problem: `--group must be a group ID or a group name in ${groupFile} (got ${JSON.stringify(group)})`,
    });
  });

  // chown(2): only root may give a file to a group it is not a member of.
  (asRoot ? it.skip : it)('tells a user who is not a member that it cannot give files to the group', () => {
    const outsider = 4_000_000;
    expect(resolveGroup(outsider, groupFile)).toEqual({
      problem: `--group ${outsider}: only root or a member of the group may give files to it, and this is uid ${process.getuid!()} (got "${outsider}")`,
    });
  });
});
