import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSetting, numberListSetting, numberSetting, pathSetting, runSeconds } from './settings';

describe('bench settings', () => {
  describe(numberSetting.name, () => {
    it('reads the number the variable says, or the fallback when it is unset or empty', () => {
      expect(numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: '3' })).toBe(3);
      expect(numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: ' 0.5 ' })).toBe(0.5);
      expect(numberSetting('BENCH_SECONDS', 8, {})).toBe(8);
      expect(numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: '' })).toBe(8);
    });

    it('refuses what is not a positive number, naming the variable', () => {
      expect(() => numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: 'ten' })).toThrow(
        "BENCH_SECONDS must be a positive number (got 'ten')",
      );
      expect(() => numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: '0' })).toThrow(/BENCH_SECONDS/);
      expect(() => numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: '-2' })).toThrow(/BENCH_SECONDS/);
      expect(() => numberSetting('BENCH_SECONDS', 8, { BENCH_SECONDS: 'Infinity' })).toThrow(/BENCH_SECONDS/);
    });
  });

  describe(listSetting.name, () => {
    it('splits on commas, trims, and leaves out empty items', () => {
      expect(listSetting('BENCH_SERVERS', { BENCH_SERVERS: 'nest, bouncer,,' })).toEqual(['nest', 'bouncer']);
    });

    it('is undefined when the variable lists nothing', () => {
      expect(listSetting('BENCH_SERVERS', {})).toBeUndefined();
      expect(listSetting('BENCH_SERVERS', { BENCH_SERVERS: '' })).toBeUndefined();
      expect(listSetting('BENCH_SERVERS', { BENCH_SERVERS: ' , ' })).toBeUndefined();
    });
  });

  describe(numberListSetting.name, () => {
    it('reads a list of numbers; undefined when it lists none', () => {
      expect(numberListSetting('BENCH_PAYLOADS', { BENCH_PAYLOADS: '1, 3' })).toEqual([1, 3]);
      expect(numberListSetting('BENCH_PAYLOADS', {})).toBeUndefined();
    });

    it('refuses an item that is not a positive number', () => {
      expect(() => numberListSetting('BENCH_PAYLOADS', { BENCH_PAYLOADS: '1,three' })).toThrow(
        "BENCH_PAYLOADS must be a positive number (got 'three')",
      );
    });
  });

  describe(runSeconds.name, () => {
    it('reads BENCH_SECONDS and BENCH_WARMUP_SECONDS over the bench’s own defaults', () => {
      expect(runSeconds({ seconds: 8, warmupSeconds: 2 }, {})).toEqual({ seconds: 8, warmupSeconds: 2 });
      expect(runSeconds({ seconds: 8, warmupSeconds: 2 }, { BENCH_SECONDS: '20' })).toEqual({
        seconds: 20,
        warmupSeconds: 2,
      });
      expect(runSeconds({ seconds: 10, warmupSeconds: 3 }, { BENCH_WARMUP_SECONDS: '1' })).toEqual({
        seconds: 10,
        warmupSeconds: 1,
      });
    });
  });

  describe(pathSetting.name, () => {
    const build = mkdtempSync(join(tmpdir(), 'bench-settings-'));
    const dist = join(build, 'dist');
    mkdirSync(dist);
    writeFileSync(join(dist, 'main.js'), '');

    it('reads a folder that holds the file it must hold, and is undefined when unset or empty', () => {
      expect(pathSetting('BENCH_PROFILE_BEFORE', 'main.js', { BENCH_PROFILE_BEFORE: dist })).toBe(dist);
      expect(pathSetting('BENCH_PROFILE_BEFORE', 'main.js', {})).toBeUndefined();
      expect(pathSetting('BENCH_PROFILE_BEFORE', 'main.js', { BENCH_PROFILE_BEFORE: ' ' })).toBeUndefined();
    });

    it('refuses a folder without that file, naming the variable, before anything is measured', () => {
      expect(() => pathSetting('BENCH_PROFILE_BEFORE', 'main.js', { BENCH_PROFILE_BEFORE: build })).toThrow(
        `BENCH_PROFILE_BEFORE must be a folder holding main.js (got '${build}')`,
      );
    });
  });
});
