import { describe, expect, it } from 'vitest';
import { buildProgram, reflow } from './program.ts';

describe('help text', () => {
  it('joins the lines of one paragraph and keeps blank lines, list items, examples and indented lines', () => {
    expect(reflow('one two\nthree\n\nfour\n- item\n- item two\n  indented\n$ plexus x\n1. first\nend')).toBe(
      'one two three\n\nfour\n- item\n- item two\n  indented\n$ plexus x\n1. first end',
    );
  });

  it('help left single words on lines of their own mid-paragraph (source line breaks wrapped again at 80 columns)', () => {
    const program = buildProgram();
    const all = [program, ...program.commands, ...program.commands.flatMap((c) => [c, ...c.commands])];
    const indent = (l: string): number => l.length - l.trimStart().length;
    for (const cmd of all) {
      const lines = cmd.helpInformation().split('\n');
      // A one-word line followed by more of the same paragraph (same indentation) is a widow;
      // a one-word last line of a description is ordinary wrapping.
      const widows = lines.filter((l, i) => /^\s*\S+$/.test(l) && !/^\s*(-|\$)/.test(l)
        && lines[i + 1] !== undefined && lines[i + 1]!.trim() !== '' && indent(lines[i + 1]!) === indent(l) && !/^\s*(-|\$)/.test(lines[i + 1]!)
        && !/:$/.test(l));
      expect(widows, `${cmd.name()}:\n${cmd.helpInformation()}`).toEqual([]);
    }
  });
});
