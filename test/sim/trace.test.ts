import { describe, expect, it } from 'vitest';
import { Trace } from './trace.js';

describe('Trace', () => {
  it('keeps the newest lines up to its capacity, oldest first, formatting lazily', () => {
    const trace = new Trace({ capacity: 3 });
    let formatted = 0;
    for (let number = 1; number <= 5; number++) {
      trace.add(number, () => {
        formatted++;
        return `line ${number}`;
      });
    }
    expect(formatted).toBe(0);
    expect(trace.lines().map((line) => line.trim())).toEqual([
      '3.0ms line 3',
      '4.0ms line 4',
      '5.0ms line 5',
    ]);
    expect(trace.lines(1).map((line) => line.trim())).toEqual(['5.0ms line 5']);
    expect(() => new Trace({ capacity: 0 })).toThrow(RangeError);
  });

  it('echoes every line when asked', () => {
    const echoed: string[] = [];
    const trace = new Trace({ capacity: 1, echo: (line) => echoed.push(line.trim()) });
    trace.add(1, 'a');
    trace.add(2, 'b');
    expect(echoed).toEqual(['1.0ms a', '2.0ms b']);
  });
});
