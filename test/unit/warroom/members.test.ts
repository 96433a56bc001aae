import { MAX_INITIAL_MEMBERS, MAX_MEMBERS_PER_ADD, missingMembers, planMembers } from '../../../lib/warroom/members';

const ids = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('war room members: who goes into the create call and who is added after', () => {
  it('up to 40 members go into the create call; none are added after', () => {
    expect(planMembers('owner', ids(40))).toEqual({ initial: ids(40), additions: [] });
    expect(MAX_INITIAL_MEMBERS).toBe(40);
  });

  it('45 members: 40 at creation, the other 5 in one member/add', () => {
    const plan = planMembers('owner', ids(45));
    expect(plan.initial).toEqual(ids(40));
    expect(plan.additions).toEqual([ids(45).slice(40)]);
  });

  it('100 members: 40 at creation, then chunks of 20, 20, 20', () => {
    const plan = planMembers('owner', ids(100));
    expect(plan.initial).toHaveLength(40);
    expect(plan.additions.map((c) => c.length)).toEqual([20, 20, 20]);
    expect([...plan.initial, ...plan.additions.flat()]).toEqual(ids(100));
    expect(MAX_MEMBERS_PER_ADD).toBe(20);
  });

  it('the owner and repeated members are not listed as members', () => {
    expect(planMembers('u2', ['u1', 'u2', 'u1', 'u3'])).toEqual({ initial: ['u1', 'u3'], additions: [] });
  });

  it('no members: the owner alone', () => {
    expect(planMembers('owner', [])).toEqual({ initial: [], additions: [] });
  });

  it('an existing war room gets only whom it lacks, in chunks', () => {
    // given: the room has its owner and u1..u3
    const room = { ownerUserId: 'owner', members: ['u1', 'u2', 'u3'] };
    // then
    expect(missingMembers(['owner', 'u1', 'u4', 'u4', 'u5'], room)).toEqual([['u4', 'u5']]);
    expect(missingMembers(['owner', 'u1'], room)).toEqual([]);
    expect(missingMembers(ids(45, 'n'), room).map((c) => c.length)).toEqual([20, 20, 5]);
  });
});
