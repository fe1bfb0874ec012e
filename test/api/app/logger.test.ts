/**
 * The structured log (api/app/logger.ts): one JSON object per line, `time`, `level` and `event` first and
 * never overridden by a field, undefined fields left out, error fields bounded, and a failing write never
 * failing the caller.
 */
import { describe, expect, it } from 'vitest';
import { errorFields, jsonLogger } from '../../../api/app/logger.js';
import { DirectoryError } from '../../../log/directory/errors.js';

describe('the JSON logger', () => {
  it('writes one line of JSON per event: time, level, event, then the fields', () => {
    const lines: string[] = [];
    const log = jsonLogger(
      (line) => lines.push(line),
      () => Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    );
    log.info('shutdown', { signal: 'SIGTERM', skipped: undefined });
    log.warn('witness_failed', { witness: 'https://w.example/a', attempts: 2, ok: false, note: null });
    log.error('internal_error', { event: 'forged', level: 'info', time: 'never', message: 'two\nlines' });
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toContain('\n');
    expect(lines[0]).toBe('{"time":"2026-01-02T03:04:05.006Z","level":"info","event":"shutdown","signal":"SIGTERM"}');
    expect(JSON.parse(lines[1])).toEqual({
      time: '2026-01-02T03:04:05.006Z',
      level: 'warn',
      event: 'witness_failed',
      witness: 'https://w.example/a',
      attempts: 2,
      ok: false,
      note: null,
    });
    // A field cannot replace the line's own time, level or event.
    expect(JSON.parse(lines[2])).toEqual({
      time: '2026-01-02T03:04:05.006Z',
      level: 'error',
      event: 'internal_error',
      message: 'two\nlines',
    });
  });

  it('does not fail its caller when the line cannot be written', () => {
    const log = jsonLogger(() => {
      throw new Error('EPIPE');
    });
    expect(() => log.error('epoch_failed')).not.toThrow();
  });

  it("reports an error's name, code and message, the message cut to 1000 characters", () => {
    expect(errorFields(new DirectoryError('corrupt_directory', 'the map root differs'))).toEqual({
      error: 'DirectoryError',
      code: 'corrupt_directory',
      message: 'the map root differs',
    });
    expect(errorFields(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }))).toMatchObject({
      code: 'SQLITE_BUSY',
    });
    expect(errorFields(new TypeError('x'))).toEqual({ error: 'TypeError', code: undefined, message: 'x' });
    expect(errorFields('a string thrown')).toMatchObject({ error: 'Error', message: 'a string thrown' });
    const long = errorFields(new Error('y'.repeat(5000))).message as string;
    expect(long).toHaveLength(1001);
    expect(long.endsWith('…')).toBe(true);
  });
});
