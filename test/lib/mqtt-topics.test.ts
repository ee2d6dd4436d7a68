import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterWithin, isTopicFilter, isTopicName, topicMatches } from '../../src/lib/mqtt-topics.js';

const filter = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '+', '$s', ''), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter(isTopicFilter);

/** Every topic over the alphabet with 1..5 levels: the universe the containment model quantifies over. */
const UNIVERSE: string[] = (() => {
  const lv = ['a', 'b', 'c', '$s', '', 'z'];
  let acc: string[][] = [[]];
  const out: string[] = [];
  for (let n = 1; n <= 5; n++) {
    acc = acc.flatMap((p) => lv.map((x) => [...p, x]));
    out.push(...acc.map((p) => p.join('/')));
  }
  return out;
})();

describe('MQTT topic filters (MQTT §4.7)', () => {
  it('matches the spec examples', () => {
    expect(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1')).toBe(true);
    expect(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking')).toBe(true);
    expect(topicMatches('sport/#', 'sport')).toBe(true);
    expect(topicMatches('sport/tennis/+', 'sport/tennis/player1')).toBe(true);
    expect(topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking')).toBe(false);
    expect(topicMatches('sport/+', 'sport')).toBe(false);
    expect(topicMatches('sport/+', 'sport/')).toBe(true);
    expect(topicMatches('+/+', '/finance')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/monitor/Clients')).toBe(true);
  });

  it('validates names and filters', () => {
    expect(isTopicFilter('a/#')).toBe(true);
    expect(isTopicFilter('a/#/b')).toBe(false);
    expect(isTopicFilter('a/b#')).toBe(false);
    expect(isTopicFilter('a+/b')).toBe(false);
    expect(isTopicFilter('')).toBe(false);
    expect(isTopicName('a/+')).toBe(false);
    expect(isTopicName('a/b')).toBe(true);
  });

  it('containment agrees with a brute-force model over every topic of a finite universe', () => {
    fc.assert(
      fc.property(filter, filter, (inner, outer) => {
        // Filters have at most 5 levels and 'z' stands for every literal the filters do not name, so a
        // topic that separates two filters always exists within the universe: the model is exact here.
        const model = UNIVERSE.every((t) => !topicMatches(inner, t) || topicMatches(outer, t));
        expect(filterWithin(inner, outer)).toBe(model);
      }),
      { numRuns: 3000 },
    );
  });

  it('containment examples', () => {
    expect(filterWithin('plant/a/temp', 'plant/+/temp')).toBe(true);
    expect(filterWithin('plant/+/temp', 'plant/a/temp')).toBe(false);
    expect(filterWithin('plant/#', 'plant/+/temp')).toBe(false);
    expect(filterWithin('plant/a/#', 'plant/#')).toBe(true);
    expect(filterWithin('#', '#')).toBe(true);
    expect(filterWithin('$SYS/x', '#')).toBe(false);
    expect(filterWithin('plant', 'plant/#')).toBe(true);
  });
});
