import { badIpLines, badScopeLines, limitOk, linesOf, metadataProblem, nameProblem, regionOk } from '../../console/src/rules';

// The console's as-you-type checks are the server's rules (src/domain/rules), reported per field and per line.
describe('Console input checks', () => {
  it('classifies a name the way the error message needs it', () => {
    expect(nameProblem('生产 环境-text_1')).toBeNull();
    expect(nameProblem('a')).toBe('length');
    expect(nameProblem('x'.repeat(65))).toBe('length');
    expect(nameProblem('two  spaces')).toBe('characters');
    expect(nameProblem('semi;colon')).toBe('characters');
  });

  it('names the lines of an allowlist that are not addresses or ranges, skipping blank lines', () => {
    expect(badIpLines('10.0.0.0/8\n\nnot-an-ip\n::1\n300.1.1.1')).toEqual([3, 5]);
    expect(linesOf(' a \n\n b')).toEqual([
      { line: 1, value: 'a' },
      { line: 3, value: 'b' },
    ]);
  });

  it('accepts scope ids with a trailing * and names the lines it refuses', () => {
    expect(badScopeLines('qwen-*\ngpt-4o-mini\nchat:v1')).toEqual([]);
    expect(badScopeLines('qwen-max\n*\nbad id')).toEqual([2, 3]);
  });

  it('takes an empty region as the server default and checks the rest', () => {
    expect(regionOk('')).toBe(true);
    expect(regionOk('us-east-1')).toBe(true);
    expect(regionOk('US East')).toBe(false);
  });

  it('takes an empty limit as none and otherwise only what the server accepts (1 to 2147483647, whole)', () => {
    expect(limitOk('tokensPerDay', '')).toBe(true);
    expect(limitOk('tokensPerDay', ' 100000 ')).toBe(true);
    expect(limitOk('requestsPerMinute', '2147483647')).toBe(true);
    expect(limitOk('requestsPerMinute', '2147483648')).toBe(false);
    expect(limitOk('tokensPerDay', '0')).toBe(false);
    expect(limitOk('tokensPerDay', '1.5')).toBe(false);
    expect(limitOk('tokensPerDay', '-3')).toBe(false);
    expect(limitOk('tokensPerDay', '1e3')).toBe(false);
  });

  it('takes empty metadata as none and otherwise wants a JSON object', () => {
    expect(metadataProblem('')).toBeNull();
    expect(metadataProblem('{"team":"search"}')).toBeNull();
    expect(metadataProblem('{team: search}')).toBe('json');
    expect(metadataProblem('[1, 2]')).toBe('object');
    expect(metadataProblem('null')).toBe('object');
    expect(metadataProblem('"text"')).toBe('object');
  });
});
