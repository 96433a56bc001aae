import { eventTimeMs, parseTimeMs, readText, requireConversationId } from '../../../lib/events/read';
import { InvalidEventError } from '../../../lib/events/errors';

describe('reading DingTalk event fields', () => {
  it.each([
    ['a 13-digit ms string', '1764300000000', 1764300000000],
    ['ms as a number', 1764300000000, 1764300000000],
    ['seconds as a string', '1764300000', 1764300000000],
    ['seconds as a number', 1764300000, 1764300000000],
    ['an ISO date', '2025-11-28T03:20:00.000Z', 1764300000000],
  ])('a time given as %s is read as epoch ms', (_, input, expected) => {
    expect(parseTimeMs(input)).toBe(expected);
  });

  it.each([['empty', ''], ['words', 'yesterday'], ['zero', 0], ['negative', -5], ['null', null], ['an object', {}]])(
    'a time given as %s is not a time',
    (_, input) => {
      expect(parseTimeMs(input)).toBeUndefined();
    },
  );

  it('the event time is the first usable of the named fields, else the fallback', () => {
    expect(eventTimeMs({ operateTime: '1764300000002', EventTime: '1764300000001' }, ['operateTime', 'EventTime'], 5)).toBe(1764300000002);
    expect(eventTimeMs({ operateTime: 'n/a', eventtime: 1764300000001 }, ['operateTime', 'EventTime'], 5)).toBe(1764300000001);
    expect(eventTimeMs({}, ['operateTime', 'EventTime'], 5)).toBe(5);
  });

  it('text fields are read case-insensitively; blanks count as missing', () => {
    expect(readText({ CoolAppCode: ' COOLAPP-1 ' }, 'coolAppCode')).toBe('COOLAPP-1');
    expect(readText({ operator: 12345 }, 'operator')).toBe('12345');
    expect(readText({ robotCode: '   ' }, 'robotCode')).toBeUndefined();
    expect(readText({ robotCode: { x: 1 } }, 'robotCode')).toBeUndefined();
  });

  it('an event without openConversationId is invalid, whatever the casing of others', () => {
    expect(requireConversationId({ OpenConversationId: 'cid==' }, 'x')).toBe('cid==');
    expect(() => requireConversationId({ chatId: 'c1' }, 'chat_update_title')).toThrow(InvalidEventError);
    expect(() => requireConversationId({ openConversationId: 'c'.repeat(300) }, 'x')).toThrow(/longer than/);
  });
});
