import { describe, expect, it } from 'vitest';
import { InvariantError } from '../errors.js';
import {
  assertOwnedIpsetLines,
  parseIpsetSave,
  renderAdd,
  renderCreate,
  renderReplaceSet,
  tempIpsetName,
} from './ipset-format.js';

// `ipset save` of ipset v7.17, captured in a test namespace.
const SAVE = `create mgyA hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xfcfce186
add mgyA 10.0.0.1
create mgy6 hash:ip,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0xc76cc0a9
add mgy6 fd00::1,tcp:80
create KUBE-X hash:net family inet hashsize 1024 maxelem 1000 bucketsize 12 initval 0x1
create mgyL list:set size 8
add mgyL mgyA
`;

describe('parseIpsetSave', () => {
  it('parses type, family, maxelem and members of every set', () => {
    expect(parseIpsetSave(SAVE)).toEqual([
      { name: 'mgyA', type: 'hash:ip', family: 'inet', maxelem: 65536, members: ['10.0.0.1'] },
      { name: 'mgy6', type: 'hash:ip,port', family: 'inet6', maxelem: 65536, members: ['fd00::1,tcp:80'] },
      { name: 'KUBE-X', type: 'hash:net', family: 'inet', maxelem: 1000, members: [] },
      { name: 'mgyL', type: 'list:set', members: ['mgyA'] },
    ]);
  });
});

describe('rendering', () => {
  it('renders create for each type and family, and an atomic replace via a temporary and swap', () => {
    expect(renderCreate({ name: 'mgys4abc', type: 'hash:net', family: 'inet6', maxelem: 1048576 })).toBe(
      'create mgys4abc hash:net family inet6 maxelem 1048576',
    );
    expect(renderCreate({ name: 'mgyl', type: 'list:set' })).toBe('create mgyl list:set');
    expect(() => renderCreate({ name: 'mgyx', type: 'hash:ip' })).toThrow(InvariantError);
    expect(
      renderReplaceSet({ name: 'mgys4abc', type: 'hash:net', family: 'inet' }, ['10.0.0.0/24', '10.1.0.0/24']),
    ).toEqual([
      'create mgyt-s4abc hash:net family inet',
      'flush mgyt-s4abc',
      'add mgyt-s4abc 10.0.0.0/24',
      'add mgyt-s4abc 10.1.0.0/24',
      'create mgys4abc hash:net family inet',
      'swap mgyt-s4abc mgys4abc',
      'destroy mgyt-s4abc',
    ]);
    expect(tempIpsetName(`mgy${'x'.repeat(28)}`)).toHaveLength(31);
    expect(() => tempIpsetName('KUBE-X')).toThrow(InvariantError);
    expect(() => renderAdd('mgyA', '10.0.0.1\ndestroy KUBE-X')).toThrow(InvariantError);
  });

  it('refuses lines naming sets that are not ours', () => {
    assertOwnedIpsetLines(['create mgyA hash:ip family inet', 'swap mgyt-A mgyA', '']);
    for (const l of ['destroy', 'flush', 'add KUBE-X 1.1.1.1', 'swap mgyA KUBE-X', 'rename mgyA x', '-exist'])
      expect(() => assertOwnedIpsetLines([l])).toThrow(InvariantError);
  });
});
