import t from 'tap';
import { comparePositions, type FeedPosition, nextPosition } from '../../src/domain/events.js';

const p = (tx: string, id: number): FeedPosition => ({ tx, id });

t.test('R27: positions order by transaction id as a number, then event id', async (t) => {
  t.equal(comparePositions(p('999', 5), p('1000', 1)), -1, '999 before 1000 (text order would say otherwise)');
  t.equal(comparePositions(p('18446744073709551615', 1), p('18446744073709551614', 9)), 1, 'beyond 2^53');
  t.equal(comparePositions(p('7', 3), p('7', 4)), -1);
  t.equal(comparePositions(p('7', 4), p('7', 4)), 0);
});

t.test('R27: where the next poll starts', async (t) => {
  const cases: [string, FeedPosition, Parameters<typeof nextPosition>[1], FeedPosition][] = [
    ['a full page ends at its last event', p('10', 1), { last: p('50', 7), full: true, horizon: '90' }, p('50', 7)],
    [
      'a page that is not full moves to the horizon',
      p('10', 1),
      { last: p('50', 7), full: false, horizon: '90' },
      p('90', 0),
    ],
    ['an empty page moves to the horizon', p('10', 1), { last: null, full: false, horizon: '90' }, p('90', 0)],
    [
      'an empty page never moves back (a lagging snapshot)',
      p('120', 3),
      { last: null, full: false, horizon: '90' },
      p('120', 3),
    ],
    ['an empty page at the horizon stays there', p('90', 0), { last: null, full: false, horizon: '90' }, p('90', 0)],
    ['from the start', p('0', 0), { last: null, full: false, horizon: '1000' }, p('1000', 0)],
  ];
  for (const [name, after, page, want] of cases) t.same(nextPosition(after, page), want, name);
});
