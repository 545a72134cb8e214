import { describe, expect, it } from 'vitest';
import type { History } from './history.ts';
import { niceTicks, plotSvg } from './plot.ts';

const history: History = {
  points: [
    { epoch: 0.5, trainLoss: 2.3, trainAcc: 0.1 },
    { epoch: 1, trainLoss: 1.9, trainAcc: 0.3 },
    { epoch: 1, testAcc: 0.25 },
  ],
  epochs: [
    { epoch: 1, loss: 1.9, trainAcc: 0.3, testAcc: 0.25, time: 3, trainTime: 2, examples: 64, lr: 0.1 },
  ],
};

describe('plotSvg', () => {
  it('draws the three d2l curves with legend, title, axes and the last epoch summary', () => {
    const svg = plotSvg(history, { epochs: 10, title: 'ResNet <narrow>' });
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    for (const label of ['train loss', 'train acc', 'test acc', 'epoch'])
      expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('ResNet &lt;narrow&gt;');
    expect(svg).toContain('epoch 1: loss 1.900, train acc 0.300, test acc 0.250');
    // x axis spans the whole run, y axis covers the loss with a round top tick
    expect(svg).toContain('>10</text>');
    expect(svg).toContain('>2.5</text>');
    expect(plotSvg(history, { epochs: 10, title: 'ResNet <narrow>' })).toBe(svg);
  });

  it('makes an empty frame before the first point', () => {
    const svg = plotSvg({ points: [], epochs: [] });
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(svg).not.toContain('<polyline');
  });
});

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 × 10^k and covers the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2.3, 5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(0, 20, 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  });
});
