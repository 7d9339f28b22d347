import { chooseMigrationTarget, type CandidateNode } from './placement-nodes';

const GIB = 1024 ** 3;

function node(id: string, fields: Partial<CandidateNode> = {}): CandidateNode {
  return { id, availability: 'active', state: 'ready', labels: {}, freeMemoryBytes: 4 * GIB, ...fields };
}

describe('chooseMigrationTarget (where a local-volume instance may move)', () => {
  const odoo = { 'saasodoo.role': 'odoo' };

  it('takes a named node that is active, ready, labelled when labels are in use, and not the current one', () => {
    expect(chooseMigrationTarget([node('a'), node('b')], 'a', 'b')).toEqual({ ok: true, node: 'b' });
    expect(chooseMigrationTarget([node('a'), node('b')], 'a', 'x')).toMatchObject({
      ok: false,
      code: 'NODE_NOT_FOUND',
    });
    expect(chooseMigrationTarget([node('a'), node('b')], 'a', 'a')).toMatchObject({
      ok: false,
      code: 'SAME_NODE',
    });
    expect(chooseMigrationTarget([node('a'), node('b', { state: 'down' })], 'a', 'b')).toMatchObject({
      ok: false,
      code: 'NODE_NOT_ELIGIBLE',
      message: expect.stringMatching(/down/),
    });
    expect(chooseMigrationTarget([node('a'), node('b', { availability: 'drain' })], 'a', 'b')).toMatchObject({
      ok: false,
      code: 'NODE_NOT_ELIGIBLE',
      message: expect.stringMatching(/drain/),
    });
    expect(chooseMigrationTarget([node('a', { labels: odoo }), node('b')], 'a', 'b')).toMatchObject({
      ok: false,
      code: 'NODE_NOT_ELIGIBLE',
      message: expect.stringMatching(/saasodoo\.role=odoo/),
    });
    // No node carries the label: any node is eligible.
    expect(chooseMigrationTarget([node('a'), node('b')], 'a', 'b')).toEqual({ ok: true, node: 'b' });
  });

  it('without a name, picks the eligible node with the most free memory other than the current one', () => {
    const nodes = [
      node('current', { freeMemoryBytes: 9 * GIB, labels: odoo }),
      node('small', { freeMemoryBytes: 1 * GIB, labels: odoo }),
      node('big', { freeMemoryBytes: 5 * GIB, labels: odoo }),
      node('bigger-unlabelled', { freeMemoryBytes: 8 * GIB }),
      node('bigger-drained', { freeMemoryBytes: 8 * GIB, availability: 'drain', labels: odoo }),
      node('bigger-down', { freeMemoryBytes: 8 * GIB, state: 'down', labels: odoo }),
    ];
    expect(chooseMigrationTarget(nodes, 'current')).toEqual({ ok: true, node: 'big' });
    expect(
      chooseMigrationTarget([node('current'), node('gone', { state: 'down' })], 'current'),
    ).toMatchObject({
      ok: false,
      code: 'NO_ELIGIBLE_NODE',
    });
  });
});
