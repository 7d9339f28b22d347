import { overlaps } from './network';

describe('swarm lab subnet overlap', () => {
  it.each([
    ['192.168.200.0/24', '192.168.200.0/24', true],
    ['192.168.200.0/24', '192.168.201.0/24', false],
    ['192.168.144.0/20', '192.168.150.0/24', true],
    ['192.168.144.0/20', '192.168.200.0/24', false],
    ['192.168.200.7/32', '192.168.200.0/24', true],
    ['0.0.0.0/0', '192.168.200.0/24', true],
    ['172.17.0.0/16', '192.168.200.0/24', false],
  ])('%s and %s overlap: %s', (a, b, expected) => {
    expect(overlaps(a, b)).toBe(expected);
    expect(overlaps(b, a)).toBe(expected);
  });
});
