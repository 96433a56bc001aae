import { uuidV5, warRoomUuid } from '../../../lib/warroom/uuid';

describe('the war room uuid (sceneGroup/create idempotency key)', () => {
  it('is an RFC 4122 version 5 UUID (the RFC example: DNS namespace, www.example.com)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('is the same for the same tenant and incident, whatever the message', () => {
    expect(warRoomUuid('acme', 'inc-6621')).toBe(warRoomUuid('acme', 'inc-6621'));
    expect(warRoomUuid('acme', 'inc-6621')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs between incidents and between tenants', () => {
    const ids = new Set([warRoomUuid('acme', 'inc-1'), warRoomUuid('acme', 'inc-2'), warRoomUuid('other', 'inc-1'), warRoomUuid('acme', '事故-1')]);
    expect(ids.size).toBe(4);
  });

  it('cannot be confused by where the tenant ends and the incident begins', () => {
    expect(warRoomUuid('a', 'b/c')).not.toBe(warRoomUuid('a-b', 'c'));
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(() => uuidV5('not-a-uuid', 'x')).toThrow(RangeError);
  });
});
