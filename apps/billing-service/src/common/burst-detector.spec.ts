import { BurstDetector } from './burst-detector';

describe('BurstDetector', () => {
  it('sees a burst once enough events arrive within two windows, keeps its start, and ends it', () => {
    const detector = new BurstDetector(20, 100);
    for (let t = 1000; t < 1090; t += 10) detector.record(t); // 9 events in 90 ms
    expect(detector.burstSince(1095)).toBeNull();
    for (let i = 0; i < 11; i++) detector.record(1100 + i); // 20 within the last two windows
    expect(detector.burstSince(1120)).toBe(1120);
    for (let i = 0; i < 25; i++) detector.record(1200 + i);
    expect(detector.burstSince(1250)).toBe(1120); // still the same burst
    expect(detector.burstSince(1460)).toBeNull(); // quiet for two windows
  });

  it('never calls a trickle a burst', () => {
    const detector = new BurstDetector(20, 100);
    for (let t = 0; t < 10_000; t += 20) {
      detector.record(t); // 50 per second
      expect(detector.burstSince(t)).toBeNull();
    }
  });
});
