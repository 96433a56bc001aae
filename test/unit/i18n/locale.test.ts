import { negotiateLocale } from '../../../lib/i18n';

describe('the homepage language, from the viewer\'s Accept-Language', () => {
  it.each([
    ['zh-CN,zh;q=0.9,en-US;q=0.8,en;q=0.7', 'a Chinese phone or DingTalk set to Chinese'],
    ['zh', 'bare zh'],
    ['zh-Hans-CN', 'zh-Hans'],
    ['ZH-cn', 'any letter case'],
    ['en;q=0.5, zh-CN;q=0.8', 'Chinese preferred by q-value, though listed second'],
    ['fr-FR, zh;q=0.5', 'a language we do not write first, then Chinese'],
    ['zh-CN;q=0.5, en;q=0.5', 'equal q-values: the first listed'],
  ])('%j is Simplified Chinese (%s)', (header) => {
    expect(negotiateLocale(header)).toBe('zh-CN');
  });

  it.each(['zh-TW', 'zh-Hant-HK', 'zh-HK,en;q=0.5'])('Traditional Chinese %j also gets Simplified Chinese rather than English', (header) => {
    expect(negotiateLocale(header)).toBe('zh-CN');
  });

  it.each([
    [undefined, 'no header'],
    ['', 'an empty header'],
    ['*', 'anything'],
    ['en-US,en;q=0.9,zh-CN;q=0.8', 'English first'],
    ['zh-CN;q=0.3, en-GB;q=0.9', 'English preferred by q-value'],
    ['zh-CN;q=0, en', 'Chinese refused with q=0'],
    ['zh;q=0', 'only Chinese, refused'],
    ['fr-FR, en;q=0.7, zh;q=0.5', 'English before Chinese'],
    ['ja-JP, ko', 'only languages we do not write'],
    [';;,,q=1,-zh', 'garbage'],
    ['zh;q=.9, en;q=0.5', 'a malformed q-value drops its range, not ranks it first'],
    ['zh;q=x, en', 'a q that is no number'],
  ])('%j is English (%s)', (header: string | undefined, _why: string) => {
    expect(negotiateLocale(header)).toBe('en');
  });
});
