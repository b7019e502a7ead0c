import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface UsagePoint {
  /** Bucket start, seconds since the epoch (uPlot's x unit). */
  at: number;
  requests: number;
  denied: number;
  tokens: number;
}

export interface UsageSeriesLabels {
  requests: string;
  denied: string;
  tokens: string;
}

// The same colours as the legend's swatches in styles.css.
const SERIES_COLOURS = { requests: '#2457c5', denied: '#b3261e', tokens: '#1f7a3d' } as const;

const WIDTH = 580;
const HEIGHT = 240;

/**
 * Requests and denials (left axis) and tokens (right axis) per bucket, drawn by uPlot on a canvas.
 * The canvas is decoration for sighted readers: the caller gives the same numbers as text and a table.
 */
export function UsageChart({ points, labels }: { points: UsagePoint[]; labels: UsageSeriesLabels }) {
  const target = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const data: uPlot.AlignedData = [points.map((point) => point.at), points.map((point) => point.requests), points.map((point) => point.denied), points.map((point) => point.tokens)];

  useEffect(() => {
    if (!target.current) return undefined;
    const options: uPlot.Options = {
      width: WIDTH,
      height: HEIGHT,
      legend: { show: false }, // the dialog draws its own legend; uPlot's is a live-updating table
      cursor: { drag: { x: false, y: false } },
      scales: { count: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] }, tokens: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] } },
      axes: [{}, { scale: 'count' }, { scale: 'tokens', side: 1, grid: { show: false } }],
      series: [
        {},
        { label: labels.requests, scale: 'count', stroke: SERIES_COLOURS.requests, width: 2, points: { show: true, size: 4 } },
        { label: labels.denied, scale: 'count', stroke: SERIES_COLOURS.denied, width: 2, points: { show: true, size: 4 } },
        { label: labels.tokens, scale: 'tokens', stroke: SERIES_COLOURS.tokens, width: 2, dash: [6, 4], points: { show: true, size: 4 } },
      ],
    };
    chart.current = new uPlot(options, data, target.current);
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
    // Built once per set of labels; new numbers go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [labels.requests, labels.denied, labels.tokens]);

  useEffect(() => {
    chart.current?.setData(data);
  });

  return <div ref={target} className="usage-chart" aria-hidden="true" />;
}
